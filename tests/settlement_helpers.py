"""Shared set-up of the settlement tests: a buyer with one signed glass bottle and a stored photo."""
from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import now_cn
from bot.db.cases import record_upload
from bot.db.models import Buyer, LedgerEntry, Order, OrderItem, PhotoUpload, Settlement, Shipment, Shop
from bot.db.session import session_scope
from bot.service import CaseInputs

PHOTO = "upload/bottle.jpg"
_numbers = itertools.count(1)


def new_bottle_order(url: str, price_fen: int = 2000, buyer_id: str | None = None,
                     lines: tuple[tuple[str, int], ...] | None = None) -> tuple[str, str]:
    """A committed buyer + signed 20-yuan (default) glass bottle order + one uploaded photo.
    `lines`: (sku, paid fen) per order line instead of the one bottle. Returns (buyer id, order number)."""
    n = next(_numbers)
    buyer_id = buyer_id or f"b_set_{n}"
    number = f"7700{n:08d}"
    now = now_cn()
    with session_scope(url) as session:
        shop = session.execute(select(Shop).where(Shop.code == "settle_shop")).scalar_one_or_none()
        if shop is None:
            shop = Shop(code="settle_shop", name="结算测试店", platform="tmall")
            session.add(shop)
        if session.get(Buyer, buyer_id) is None:
            session.add(Buyer(id=buyer_id, platform="tmall", credit_tier="3"))
        order = Order(order_number=number, shop=shop, buyer_id=buyer_id, platform="tmall", status="signed",
                      paid_at=now - timedelta(days=3), ship_by=now - timedelta(days=2))
        for sku, paid_fen in lines or (("GL-1", price_fen),):
            order.items.append(OrderItem(sku=sku, title="玻璃瓶", category="glass", qty=1,
                                         unit_price_fen=paid_fen, paid_fen=paid_fen))
        order.shipments.append(Shipment(courier="中通快递", waybill=f"ZT{number}", status="signed",
                                        shipped_at=now - timedelta(days=2), signed_at=now - timedelta(days=1),
                                        signed_by="buyer"))
        session.add(order)
        session.flush()
        if session.get(PhotoUpload, PHOTO + buyer_id) is None:
            record_upload(session, PHOTO + buyer_id, buyer_id)
    return buyer_id, number


def inputs(buyer_id: str, number: str, conversation: str = "conv-1", **more) -> CaseInputs:
    base = dict(conversation_id=conversation, buyer_id=buyer_id, intent="damaged", now=now_cn(),
                order_number=number, photo_refs=(PHOTO + buyer_id,))
    base.update(more)
    return CaseInputs(**base)


def order_cash_fen(url: str, number: str, kinds=("compensation", "review_rebate")) -> int:
    with session_scope(url) as session:
        return int(session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).join(Order, LedgerEntry.order_id == Order.id)
            .where(Order.order_number == number, LedgerEntry.state != "cancelled", LedgerEntry.kind.in_(kinds))
        ).scalar_one())


def settlements_of(url: str, case_id: int) -> int:
    with session_scope(url) as session:
        return int(session.execute(select(func.count()).select_from(Settlement)
                                   .where(Settlement.case_id == case_id)).scalar_one())


def settled_steps(url: str, case_id: int) -> set[tuple[str, str]]:
    """The distinct (rule, step) of the case's ledger rows: two means two settlements paid."""
    with session_scope(url) as session:
        keys = session.execute(select(LedgerEntry.idempotency_key).where(LedgerEntry.case_id == case_id)).scalars()
        return {tuple(key.split(":")[2:4]) for key in keys}
