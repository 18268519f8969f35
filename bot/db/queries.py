"""Read the order facts the policy engine needs, for one buyer at a time.

A buyer can only ever see their own orders: `find_order_for_buyer` answers None both for an order number
that does not exist and for someone else's order, so the bot cannot be used to probe other orders.
`case_facts` turns an order into the policy engine's case fields (see issue 4 / the README's schema):
money as yuan decimal strings, times as ISO-8601 with the +08:00 offset.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from bot.db.models import AfterSalesCase, LedgerEntry, Order
from bot.money import fen_to_yuan


def normalize_order_number(text: str) -> str:
    """' 1234 5678 ' -> '12345678': buyers paste numbers with spaces; full-width digits become ASCII."""
    return "".join(ch for ch in str(text).translate(_FULLWIDTH_DIGITS) if not ch.isspace())


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _order_query():
    # One query: the buyer, the lines and the shipments are joined to the order (an order has a few lines and
    # one or two shipments, so the joined rows stay few). Three queries (one per collection) cost a quarter of
    # the action server's CPU in an after-sales turn: the order is read in nearly every action.
    return select(Order).options(joinedload(Order.buyer), joinedload(Order.items), joinedload(Order.shipments))


# built once (bot.db.statements): the order is read in nearly every action
_ORDER_BY_NUMBER = _order_query().where(Order.order_number == bindparam("number"), Order.buyer_id == bindparam("buyer_id"))
# the case and its order (with the order's buyer, lines and shipments) in one statement
_CASE_WITH_ORDER = (select(AfterSalesCase)
                    .options(joinedload(AfterSalesCase.order).joinedload(Order.buyer),
                             joinedload(AfterSalesCase.order).joinedload(Order.items),
                             joinedload(AfterSalesCase.order).joinedload(Order.shipments))
                    .where(AfterSalesCase.id == bindparam("case_id"), AfterSalesCase.buyer_id == bindparam("buyer_id"))
                    .execution_options(populate_existing=True))


def case_with_order(session: Session, buyer_id: str, case_id: int) -> AfterSalesCase | None:
    """The buyer's case with its order loaded (None when the case is someone else's or unknown). The caller
    checks that the order, too, is the buyer's."""
    return session.execute(_CASE_WITH_ORDER, {"case_id": int(case_id), "buyer_id": buyer_id}).unique() \
        .scalar_one_or_none()


def find_order_for_buyer(session: Session, buyer_id: str, order_number: str) -> Order | None:
    """The buyer's order with that number, or None (unknown number and other buyer's order look the same)."""
    number = normalize_order_number(order_number)
    if not number or not buyer_id:
        return None
    return session.execute(_ORDER_BY_NUMBER, {"number": number, "buyer_id": buyer_id}).unique().scalar_one_or_none()


def recent_orders(session: Session, buyer_id: str, limit: int = 5) -> list[Order]:
    """The buyer's latest orders, newest first (by payment time, else creation time)."""
    newest_first = func.coalesce(Order.paid_at, Order.created_at).desc()
    return list(session.execute(
        _order_query().where(Order.buyer_id == buyer_id).order_by(newest_first, Order.id.desc()).limit(limit)
    ).unique().scalars())


def claim_history(session: Session, buyer_id: str, exclude_case_id: int | None = None) -> list[dict]:
    """The buyer's earlier grants that still stand (not cancelled), oldest first, for the copilot."""
    query = (select(LedgerEntry, Order.order_number)
             .outerjoin(Order, LedgerEntry.order_id == Order.id)
             .where(LedgerEntry.buyer_id == buyer_id, LedgerEntry.state != "cancelled")
             .order_by(LedgerEntry.created_at, LedgerEntry.id))
    if exclude_case_id is not None:
        query = query.where((LedgerEntry.case_id != exclude_case_id) | LedgerEntry.case_id.is_(None))
    return [
        {"case_id": entry.case_id, "order_number": order_number, "kind": entry.kind,
         "amount": fen_to_yuan(entry.amount_fen), "rule": entry.rule_id, "state": entry.state,
         "at": _iso(entry.created_at)}
        for entry, order_number in session.execute(query)
    ]


_ledger = LedgerEntry.__table__
_STANDING_GRANTS = select(_ledger.c.id, _ledger.c.case_id, _ledger.c.order_id).where(
    _ledger.c.buyer_id == bindparam("buyer_id"), _ledger.c.state != "cancelled")


def prior_claims(session: Session, buyer_id: str, exclude_case_id: int | None = None) -> int:
    """How many earlier claims got this buyer something: distinct cases (or orders, for grants recorded
    without a case). Two lines of one settlement (2 yuan + 3 yuan rebate) are one claim."""
    claims = set()
    for entry_id, case_id, order_id in session.execute(_STANDING_GRANTS, {"buyer_id": buyer_id}):
        if exclude_case_id is not None and case_id == exclude_case_id:
            continue
        claims.add(("case", case_id) if case_id is not None
                   else ("order", order_id) if order_id is not None else ("entry", entry_id))
    return len(claims)


def case_facts(order: Order, item_skus: Iterable[str] | None = None) -> dict:
    """The policy case fields that come from the order (the caller adds intent, now, evidence, refusals ...).

    `items` lists every line of the order (A9 needs the good ones too); `item_skus`, when given, names the
    lines the problem is about and becomes `faulty_items` (a list of SKUs). An SKU not in the order raises
    ValueError rather than silently resolving a claim about the wrong thing.
    """
    shipment = order.latest_shipment
    facts = {
        "order_number": order.order_number,
        "platform": order.platform,
        "items": [_item_facts(item) for item in order.items],
        "paid_total": fen_to_yuan(order.paid_total_fen),
        "order_status": order.status,
        "paid_at": _iso(order.paid_at),
        "ship_by": _iso(order.ship_by),
        "listing_kind": order.listing_kind,
        "presale_ship_date": _iso(order.presale_ship_date),
        "free_shipping": order.free_shipping,
        "freight_insurance": order.freight_insurance,
        "service_tags": list(order.service_tags or []),
        "completed_at": _iso(order.completed_at),
        "buyer_tier": order.buyer.credit_tier if order.buyer is not None else "",
        "courier": shipment.courier if shipment else None,
        "waybill": shipment.waybill if shipment else None,
        "shipment_status": shipment.status if shipment else None,
        "shipped_at": _iso(shipment.shipped_at) if shipment else None,
        "expected_delivery": _iso(shipment.expected_delivery) if shipment else None,
        "signed_at": _iso(shipment.signed_at) if shipment else None,
        "signed_date_only": bool(shipment.signed_date_only) if shipment else False,
        "signed_by": shipment.signed_by if shipment else None,
    }
    if item_skus is not None:
        facts["faulty_items"] = _checked_skus(order, item_skus)
    return facts


def _item_facts(item) -> dict:
    return {
        "sku": item.sku,
        "title": item.title,
        "price": fen_to_yuan(item.unit_price_fen),
        "qty": item.qty,
        "category": item.category,
        "paid": fen_to_yuan(item.paid_fen),
        "no_return_when_opened": item.no_return_when_opened,
    }


def _checked_skus(order: Order, item_skus: Iterable[str]) -> list[str]:
    known = {item.sku for item in order.items}
    wanted = list(dict.fromkeys(item_skus))
    unknown = [sku for sku in wanted if sku not in known]
    if unknown:
        raise ValueError(f"order {order.order_number} has no item {', '.join(unknown)}")
    return wanted


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
