"""Price protection (价保) facts the engine cannot know by itself: the catalog's price at the time of the
request, the listing's price-protection tags, what was refunded for the drop before, whether the item was
refunded. The after-sales service and the copilot both call `price_protection_fields`, so the bot and the
agent see the same figures.

Money that price protection pays is keyed by order line and price (`price:<order id>:<sku>:<price fen>`),
not by case: a second conversation about the same drop, a retried 好的, or an agent approving what the bot
already paid all land on the same ledger row; a further drop is a new price and so a new key.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import catalog
from bot.db.models import LedgerEntry, Order
from bot.money import fen_to_yuan
from bot.policy.loader import PolicyPack
from bot.policy.resolution import Option

PRICE_KEY_PREFIX = "price:"
PRICE_DIFFERENCE_KIND = "price_difference_refund"


def price_key_prefix(order_id: int, sku: str) -> str:
    return f"{PRICE_KEY_PREFIX}{order_id}:{sku}:"


def price_protection_fields(session: Session, order: Order, pack: PolicyPack, now: datetime,
                            claimed_fen: Optional[int]) -> dict:
    """Extra policy-case fields for a price-protection request on `order` at `now` (yuan strings)."""
    fields: dict = {}
    if claimed_fen is not None:
        fields["price_claimed"] = fen_to_yuan(claimed_fen)
    if len(order.items) != 1:
        return fields  # the engine asks which item (one line at a time)
    item = order.items[0]
    rule = pack.single("price_protection")
    listing = catalog.listing(session, order.shop_id, item.sku)
    if listing is not None:
        price = catalog.price_at(listing, now)
        if price is not None:
            fields["price_now"] = fen_to_yuan(price)
        protection_tags = [tag for tag in listing.service_tags or [] if rule is not None and tag in rule.service_tags]
        if protection_tags:
            fields["service_tags"] = list(dict.fromkeys([*(order.service_tags or []), *protection_tags]))
    refunded, other_refund = _refunds(session, order, item.sku)
    if refunded:
        fields["price_refunded"] = fen_to_yuan(refunded)
    fields["item_refunded"] = order.status == "closed" or other_refund
    return fields


def _refunds(session: Session, order: Order, sku: str) -> tuple[int, bool]:
    """(price differences refunded for this line, fen; whether the order was refunded otherwise)."""
    prefix = price_key_prefix(order.id, sku)
    rows = session.execute(select(LedgerEntry.idempotency_key, LedgerEntry.amount_fen).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == "refund", LedgerEntry.state != "cancelled"))
    difference, other = 0, False
    for key, amount in rows:
        if key.startswith(prefix):
            difference += amount
        elif not key.startswith(PRICE_KEY_PREFIX):
            other = True
    return difference, other


def is_price_difference(option: Option) -> bool:
    return option.kind == PRICE_DIFFERENCE_KIND and "price_now_fen" in option.details


def price_ledger_key(order_id: int, option: Option, occurrence: int = 1) -> str:
    key = f"{price_key_prefix(order_id, option.details['sku'])}{int(option.details['price_now_fen'])}"
    return key if occurrence == 1 else f"{key}:{occurrence}"
