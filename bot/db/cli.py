"""`python -m bot db COMMAND`: manage the order database.

  upgrade          create or upgrade the schema (alembic upgrade head)
  seed             upgrade, then create or refresh the demo shop (idempotent; times relative to now)
  demo             print the demo buyers and their orders, with what each exercises
  reset --yes      drop every table, recreate the schema and seed the demo shop (--no-seed: leave it empty)

The database is AFTERSALES_DB_URL (default: the SQLite file var/aftersales.db), or --url.
A database that cannot be reached prints one line on stderr and exits with status 3.
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import MetaData, Table

from bot.db import migrate
from bot.db.models import Base
from bot.db.seed import demo_listing, seed_demo_shop
from bot.db.session import (
    DatabaseUnavailable,
    check_connection,
    describe_url,
    make_engine,
    session_scope,
    sqlite_file,
)
from bot.settings import database_url

EXIT_UNAVAILABLE = 3


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.url or database_url()
    try:
        return args.handler(url, args)
    except DatabaseUnavailable as exc:
        print(f"bot db: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot db", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--url", help="SQLAlchemy database URL (default: AFTERSALES_DB_URL or var/aftersales.db)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=cmd_upgrade)
    commands.add_parser("seed", help="upgrade and seed the demo shop").set_defaults(handler=cmd_seed)
    commands.add_parser("demo", help="list the demo buyers and orders").set_defaults(handler=cmd_demo)
    reset = commands.add_parser("reset", help="drop and recreate everything (needs --yes)")
    reset.add_argument("--yes", action="store_true", help="really drop every table and its data")
    reset.add_argument("--no-seed", action="store_true", help="leave the recreated database empty")
    reset.set_defaults(handler=cmd_reset)
    return parser


def cmd_upgrade(url: str, _args=None) -> int:
    _ensure_sqlite_directory(url)
    migrate.upgrade(url)
    print(f"schema up to date at {describe_url(url)}")
    return 0


def cmd_seed(url: str, _args=None) -> int:
    cmd_upgrade(url)
    with session_scope(make_engine(url)) as session:
        report = seed_demo_shop(session)
    print(report.line())
    return 0


def cmd_demo(url: str, _args=None) -> int:
    engine = make_engine(url)
    check_connection(engine)
    if migrate.current_revision(engine) is None:
        print("bot db: the database has no schema yet; run `python -m bot db seed` first", file=sys.stderr)
        return 1
    with session_scope(engine) as session:
        listing = demo_listing(session)
    if not listing.strip():
        print("bot db: no demo buyers in this database; run `python -m bot db seed` first", file=sys.stderr)
        return 1
    print(listing, end="")
    return 0


def cmd_reset(url: str, args) -> int:
    if not args.yes:
        print(f"bot db: reset drops every table at {describe_url(url)}; add --yes to do it", file=sys.stderr)
        return 2
    drop_everything(url)
    return cmd_upgrade(url) if args.no_seed else cmd_seed(url)


def drop_everything(url: str) -> None:
    """Drop the model tables and Alembic's version table (nothing else in the database is touched)."""
    engine = make_engine(url)
    check_connection(engine)
    try:
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            Table("alembic_version", MetaData()).drop(connection, checkfirst=True)
    finally:
        engine.dispose()


def _ensure_sqlite_directory(url: str) -> None:
    """A fresh checkout has no var/ directory; creating the database file's folder is part of creating it."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    sys.exit(main())
