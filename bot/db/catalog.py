"""The shop's catalog: listings (SKU, title, service tags, current price) and their price history.

Every price change goes through `set_price`, which appends a `CatalogPrice` row naming who changed it and
why (the CLI, the agent API and the seed all use it), so the history is also the audit trail. Rules read
`price_at(listing, moment)`: the price that was on the listing at that moment, so a request is judged by
the price at the time it was made, and a price set for later does not count before its time.
All functions work in the caller's session and transaction (they flush, the caller commits).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.clock import now_cn
from bot.db.models import CatalogListing, CatalogPrice, Shop

# A price above this is a typo (100,000 yuan), not a listing of this shop.
MAX_PRICE_FEN = 100_000_00


class CatalogError(ValueError):
    """A catalog change the shop cannot make (unknown SKU or shop, a negative or absurd price)."""


@dataclass(frozen=True)
class PriceChange:
    sku: str
    shop_code: str
    old_fen: Optional[int]
    new_fen: int
    effective_from: datetime
    changed_by: str
    created: bool  # False: the listing already had this price from that moment (nothing written)


def listing(session: Session, shop_id: int, sku: str) -> Optional[CatalogListing]:
    return session.execute(
        select(CatalogListing).where(CatalogListing.shop_id == shop_id, CatalogListing.sku == sku)
        .options(selectinload(CatalogListing.prices))
    ).scalar_one_or_none()


def listings(session: Session, shop_code: Optional[str] = None) -> list[CatalogListing]:
    query = select(CatalogListing).options(selectinload(CatalogListing.prices), selectinload(CatalogListing.shop))
    if shop_code:
        query = query.join(Shop, CatalogListing.shop_id == Shop.id).where(Shop.code == shop_code)
    return list(session.execute(query.order_by(CatalogListing.shop_id, CatalogListing.sku)).scalars())


def price_at(entry: CatalogListing, moment: datetime) -> Optional[int]:
    """The listing's price (fen) at `moment`: the newest history row that had started by then."""
    started = [row for row in entry.prices if row.effective_from <= moment]
    if not started:
        return None
    return max(started, key=lambda row: (row.effective_from, row.id or 0)).price_fen


def history(entry: CatalogListing) -> list[dict]:
    return [{"price_fen": row.price_fen, "effective_from": row.effective_from.isoformat(),
             "changed_by": row.changed_by, "reason": row.reason} for row in entry.prices]


def upsert_listing(session: Session, shop: Shop, sku: str, *, title: str = "",
                   service_tags: Iterable[str] = ()) -> CatalogListing:
    """The shop's listing of `sku`, created without a price history when new (set_price adds prices)."""
    entry = listing(session, shop.id, sku)
    if entry is None:
        entry = CatalogListing(shop_id=shop.id, sku=sku, title=title, price_fen=0, service_tags=list(service_tags))
        session.add(entry)
        session.flush()
    else:
        entry.title = title or entry.title
        entry.service_tags = list(service_tags)
    return entry


def set_price(session: Session, shop_code: str, sku: str, price_fen: int, *, changed_by: str, reason: str = "",
              effective_from: Optional[datetime] = None) -> PriceChange:
    """Give the listing a new price from `effective_from` (default now), recorded with who and why.
    Setting the price it already has from that same moment writes nothing (a retried command is harmless)."""
    _check_price(price_fen)
    if not changed_by or not changed_by.strip():
        raise CatalogError("a price change names who made it (changed_by)")
    shop = session.execute(select(Shop).where(Shop.code == shop_code)).scalar_one_or_none()
    if shop is None:
        raise CatalogError(f"no shop {shop_code!r}")
    entry = listing(session, shop.id, sku)
    if entry is None:
        raise CatalogError(f"shop {shop_code} has no listing {sku!r}")
    when = effective_from or now_cn()
    old = price_at(entry, when)
    same = [row for row in entry.prices if row.effective_from == when and row.price_fen == price_fen]
    if same:
        return PriceChange(sku, shop_code, old, price_fen, when, changed_by, created=False)
    entry.prices.append(CatalogPrice(price_fen=price_fen, effective_from=when, changed_by=changed_by.strip(),
                                     reason=reason.strip()[:500]))
    session.flush()
    current = price_at(entry, now_cn())
    entry.price_fen = current if current is not None else price_fen
    entry.updated_at = now_cn()
    session.flush()
    return PriceChange(sku, shop_code, old, price_fen, when, changed_by, created=True)


def _check_price(price_fen: int) -> None:
    if isinstance(price_fen, bool) or not isinstance(price_fen, int):
        raise CatalogError(f"a price is integer fen, not {type(price_fen).__name__}")
    if not 0 < price_fen <= MAX_PRICE_FEN:
        raise CatalogError(f"price {price_fen} fen is outside 0.01 .. {MAX_PRICE_FEN // 100} yuan")
