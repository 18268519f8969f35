"""`python -m bot catalog COMMAND`: the shop's catalog (listings, prices, their history).

  list                         every listing with its current price and service tags
  show SKU                     one listing and its price history (who changed it, when, why)
  set-price SKU PRICE          a new price in yuan (18.00), now or --from an ISO time; --by names who, --reason why

The shop is --shop (default demo_tmall). Every change is a new history row with who made it (--by, default
cli:$USER): price protection reads the price the listing had at the moment of a request from that history.
A bad price or an unknown SKU prints one line and exits 2; a database that is down exits 3.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from bot.clock import now_cn, parse_time
from bot.db import catalog
from bot.db.session import DatabaseUnavailable, make_engine, session_scope
from bot.money import MoneyError, fen_to_yuan, yuan_to_fen
from bot.settings import database_url

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.url or database_url()
    try:
        with session_scope(make_engine(url)) as session:
            return args.handler(session, args)
    except catalog.CatalogError as exc:
        print(f"bot catalog: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DatabaseUnavailable as exc:
        print(f"bot catalog: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot catalog", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--url", help="SQLAlchemy database URL (default: AFTERSALES_DB_URL or var/aftersales.db)")
    parser.add_argument("--shop", default="demo_tmall", help="shop code (default demo_tmall)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="listings and prices").set_defaults(handler=cmd_list)
    show = commands.add_parser("show", help="one listing and its price history")
    show.add_argument("sku")
    show.set_defaults(handler=cmd_show)
    setp = commands.add_parser("set-price", help="change a listing's price")
    setp.add_argument("sku")
    setp.add_argument("price", help="yuan, e.g. 18.00")
    setp.add_argument("--from", dest="effective_from", help="ISO time the price starts (default: now)")
    setp.add_argument("--by", default=None, help="who makes the change (default cli:$USER)")
    setp.add_argument("--reason", default="", help="why (kept in the history)")
    setp.set_defaults(handler=cmd_set_price)
    return parser


def cmd_list(session, args) -> int:
    for entry in catalog.listings(session, args.shop):
        tags = ",".join(entry.service_tags or []) or "-"
        current = catalog.price_at(entry, now_cn())
        price = fen_to_yuan(current) if current is not None else "-"
        print(f"{entry.sku:<20} {price:>9}  {tags:<10} {entry.title}")
    return 0


def cmd_show(session, args) -> int:
    entry = _listing(session, args.shop, args.sku)
    current = catalog.price_at(entry, now_cn())
    print(f"{entry.sku} {entry.title} — now {fen_to_yuan(current) if current is not None else '-'}; "
          f"tags: {','.join(entry.service_tags or []) or '-'}")
    for row in catalog.history(entry):
        print(f"  from {row['effective_from']}  {fen_to_yuan(row['price_fen']):>9}  by {row['changed_by']}"
              + (f"  ({row['reason']})" if row["reason"] else ""))
    return 0


def cmd_set_price(session, args) -> int:
    try:
        fen = yuan_to_fen(args.price)
    except (MoneyError, ValueError, ArithmeticError):
        raise catalog.CatalogError(f"not a price in yuan: {args.price!r}") from None
    try:
        when = parse_time(args.effective_from) if args.effective_from else None
    except ValueError:
        raise catalog.CatalogError(f"not an ISO time: {args.effective_from!r}") from None
    change = catalog.set_price(session, args.shop, args.sku, fen, changed_by=args.by or f"cli:{_user()}",
                               reason=args.reason, effective_from=when)
    old = fen_to_yuan(change.old_fen) if change.old_fen is not None else "-"
    verb = "set" if change.created else "unchanged (already"
    print(f"{change.sku}: {old} -> {fen_to_yuan(change.new_fen)} from {change.effective_from.isoformat()} "
          f"{verb} by {change.changed_by}" + ("" if change.created else ")"))
    return 0


def _listing(session, shop: str, sku: str):
    entry = next((e for e in catalog.listings(session, shop) if e.sku == sku), None)
    if entry is None:
        raise catalog.CatalogError(f"shop {shop} has no listing {sku!r}")
    return entry


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container: still say it came from the command line
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
