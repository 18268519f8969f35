"""Settling a case, as database invariants rather than Python checks.

Two things must hold however requests interleave (a buyer's 好的 and an agent's approval at the same moment,
two action-server processes, SQLite or PostgreSQL):
- at most one settlement per case: `settlements.case_id` is UNIQUE and the row is inserted with
  ON CONFLICT DO NOTHING, so exactly one of two concurrent inserts creates it;
- cash per order, and per order line, never above its limit across cases: every settlement first takes the
  order's row lock (`lock_order`), so the cash already paid on the order is read after any concurrent
  settlement committed. A case is about the lines it recorded (CaseLine; none = the whole order); its cash
  counts against those lines in proportion to what was paid for each (exact fractions, `line_cash`), and
  each line's share stays within half its price (keep-the-item cash) and its price (refunds).
  On PostgreSQL that is SELECT ... FOR UPDATE on the order row; on SQLite a no-op UPDATE of the order row,
  which takes the database's write lock (SQLite has one writer at a time; the others wait busy_timeout).
The caller must take the lock before it reads anything it decides on (the case, earlier settlements).

Message receipts make a buyer message act once: the same (case, message id) inserts nothing the second time.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Optional

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.clock import now_cn
from bot.db.cases import case_line_ids
from bot.db.models import AfterSalesCase, LedgerEntry, MessageReceipt, Order, Settlement
from bot.db.statements import InsertOnce
from bot.money import fen_to_display

# Money the buyer keeps the item for, and money back for the item: the two limits per order.
KEEP_CASH_KINDS = ("compensation", "review_rebate")
REFUND_KINDS = ("refund",)
CASH_KINDS = KEEP_CASH_KINDS + REFUND_KINDS + ("shipping_subsidy",)


_orders = Order.__table__
_LOCK_FOR_UPDATE = select(_orders.c.id).where(_orders.c.id == bindparam("order_id")).with_for_update()
_LOCK_BY_WRITING = update(_orders).where(_orders.c.id == bindparam("order_id")).values(id=_orders.c.id)


def lock_order(session: Session, order_id: int) -> None:
    """Hold the order's row lock until the transaction ends (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_FOR_UPDATE, {"order_id": order_id})
    else:
        session.execute(_LOCK_BY_WRITING, {"order_id": order_id})


_cases = AfterSalesCase.__table__
# (parameter names that are no column of orders: an UPDATE of orders reserves those for its own values)
_ORDER_OF_CASE = (select(_cases.c.order_id).where(_cases.c.id == bindparam("of_case_id"),
                                                  _cases.c.buyer_id == bindparam("of_buyer_id")).scalar_subquery())
_LOCK_CASE_ORDER_FOR_UPDATE = select(_orders.c.id).where(_orders.c.id == _ORDER_OF_CASE).with_for_update()
_LOCK_CASE_ORDER_BY_WRITING = update(_orders).where(_orders.c.id == _ORDER_OF_CASE).values(id=_orders.c.id)


def lock_order_of_case(session: Session, buyer_id: str, case_id: int) -> bool:
    """lock_order for the order of the buyer's case, in one statement (no separate read of the case's order id).
    False: no such case of this buyer, or a case without an order (nothing is locked then)."""
    params = {"of_case_id": int(case_id), "of_buyer_id": buyer_id}
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_LOCK_CASE_ORDER_FOR_UPDATE, params).first() is not None
    return session.execute(_LOCK_CASE_ORDER_BY_WRITING, params).rowcount == 1


_SETTLEMENT = (select(Settlement).where(Settlement.case_id == bindparam("case_id"))
               .execution_options(populate_existing=True))
_SETTLEMENT_EXISTS = select(Settlement.__table__.c.id).where(Settlement.__table__.c.case_id == bindparam("case_id"))
_insert_settlement = InsertOnce(Settlement.__table__, ["case_id"])


def get_settlement(session: Session, case_id: int) -> Optional[Settlement]:
    return session.execute(_SETTLEMENT, {"case_id": case_id}).scalar_one_or_none()


def is_settled(session: Session, case_id: int) -> bool:
    return session.execute(_SETTLEMENT_EXISTS, {"case_id": case_id}).first() is not None


def claim_settlement(session: Session, *, case_id: int, order_id: int, rule_id: str, step: int,
                     approved_by: str, cash_fen: int) -> bool:
    """Insert the case's settlement unless one exists. True if this call created it; False when another
    settlement of the case was there first (it may name another rule or step: get_settlement reads it)."""
    row = {"case_id": case_id, "order_id": order_id, "rule_id": rule_id, "step": step,
           "approved_by": approved_by, "cash_fen": cash_fen, "created_at": now_cn()}
    return _insert_settlement(session, row)


@dataclass(frozen=True)
class OrderCash:
    """What the order's other settlements already paid (cancelled ledger rows do not count)."""
    keep_cash_fen: int
    refund_fen: int
    case_ids: tuple[int, ...]

    @property
    def any(self) -> bool:
        return self.keep_cash_fen > 0 or self.refund_fen > 0


_ledger = LedgerEntry.__table__
# Cash that stands on an order, per kind and case (cancelled rows do not count).
_CASH_ON_ORDER = (select(_ledger.c.kind, _ledger.c.case_id, func.sum(_ledger.c.amount_fen))
                  .where(_ledger.c.order_id == bindparam("order_id"), _ledger.c.state != "cancelled",
                         _ledger.c.kind.in_(KEEP_CASH_KINDS + REFUND_KINDS), _ledger.c.amount_fen > 0)
                  .group_by(_ledger.c.kind, _ledger.c.case_id))


def cash_rows(session: Session, order_id: int) -> list[tuple[str, Optional[int], int]]:
    """(kind, case id, fen) of the cash standing on the order: what order_cash and line_cash add up. Read it
    once under the order's lock and pass it to both."""
    return [(kind, case_id, int(amount)) for kind, case_id, amount in
            session.execute(_CASH_ON_ORDER, {"order_id": order_id})]


def order_cash(session: Session, order_id: int, exclude_case_id: Optional[int] = None,
               rows: Optional[list] = None) -> OrderCash:
    keep = refund = 0
    cases = set()
    for kind, case_id, amount in (rows if rows is not None else cash_rows(session, order_id)):
        if exclude_case_id is not None and case_id == exclude_case_id:
            continue
        if kind in KEEP_CASH_KINDS:
            keep += int(amount)
        else:
            refund += int(amount)
        if case_id is not None:
            cases.add(case_id)
    return OrderCash(keep, refund, tuple(sorted(cases)))


def keep_cash_limit_fen(paid_fen: int, percent: Decimal | int = 50, round_down_to: int = 100) -> int:
    """The keep-the-item cash limit of an order line: half (the pack's percent) of what was paid, rounded
    down to whole yuan like the policy engine's cash cap (10.50 -> 5 yuan)."""
    exact = Decimal(paid_fen) * Decimal(percent) / 100
    return int(exact // round_down_to) * round_down_to


def over_limit(existing: OrderCash, parts: list[tuple[str, int]], *, paid_fen: int, keep_limit_fen: int) -> str:
    """Why adding `parts` (kind, fen) to what the order already paid breaks a per-order limit ("" if it
    does not): keep-the-item cash above the cash cap, refunds above what was paid."""
    new_keep = sum(fen for kind, fen in parts if kind in KEEP_CASH_KINDS)
    new_refund = sum(fen for kind, fen in parts if kind in REFUND_KINDS)
    if new_keep and existing.keep_cash_fen + new_keep > keep_limit_fen:
        return (f"不退货补偿累计{(existing.keep_cash_fen + new_keep) / 100:.2f}元将超过该订单上限"
                f"{keep_limit_fen / 100:.2f}元（已付{existing.keep_cash_fen / 100:.2f}元）")
    if new_refund and existing.refund_fen + new_refund > paid_fen:
        return (f"退款累计{(existing.refund_fen + new_refund) / 100:.2f}元将超过实付{paid_fen / 100:.2f}元"
                f"（已退{existing.refund_fen / 100:.2f}元）")
    return ""


# ---------------------------------------------------------------------- per order line

@dataclass(frozen=True)
class LineCash:
    """What other cases already paid against one order line (their cash spread over their lines by price)."""
    item_id: int
    sku: str
    paid_fen: int
    keep_cash: Fraction
    refund: Fraction
    case_ids: tuple[int, ...]


def lines_of(order: Order, line_ids) -> list:
    """The order's lines with these ids; all of them for () (a case about the whole order)."""
    wanted = set(line_ids or ())
    return [item for item in order.items if not wanted or item.id in wanted]


def spread(amount_fen: int, lines) -> dict[int, Fraction]:
    """Each line's share of a case's cash, in proportion to what was paid for it (exact; a case whose lines
    cost nothing puts it all on them equally, which is over their limit of nothing)."""
    if not lines:
        return {}
    total = sum(item.paid_fen for item in lines)
    if total == 0:
        return {item.id: Fraction(amount_fen, len(lines)) for item in lines}
    return {item.id: Fraction(amount_fen * item.paid_fen, total) for item in lines}


def line_cash(session: Session, order: Order, exclude_case_id: Optional[int] = None,
              rows: Optional[list] = None) -> dict[int, LineCash]:
    """Per line of the order: the keep-the-item cash and the refunds of the order's other cases on it
    (cancelled ledger rows do not count; ledger rows without a case count against the whole order).
    `rows`: cash_rows of the order, when the caller has read them already."""
    keep = {item.id: Fraction(0) for item in order.items}
    refund = {item.id: Fraction(0) for item in order.items}
    cases: dict[int, set] = {item.id: set() for item in order.items}
    for kind, case_id, amount in (rows if rows is not None else cash_rows(session, order.id)):
        if exclude_case_id is not None and case_id == exclude_case_id:
            continue
        lines = lines_of(order, case_line_ids(session, case_id) if case_id is not None else ())
        target = keep if kind in KEEP_CASH_KINDS else refund
        for item_id, share in spread(int(amount), lines).items():
            target[item_id] += share
            if case_id is not None:
                cases[item_id].add(case_id)
    return {item.id: LineCash(item.id, item.sku, item.paid_fen, keep[item.id], refund[item.id],
                              tuple(sorted(cases[item.id]))) for item in order.items}


def cases_paid_on(existing: dict[int, LineCash], line_ids) -> tuple[int, ...]:
    """The other cases that already paid cash on any of these lines (() = all the order's lines)."""
    wanted = set(line_ids or existing)
    return tuple(sorted({case_id for item_id, line in existing.items() if item_id in wanted
                         for case_id in line.case_ids}))


def over_line_limits(existing: dict[int, LineCash], order: Order, line_ids, parts: list[tuple[str, int]], *,
                     percent: Decimal | int = 50) -> str:
    """Why adding `parts` (kind, fen) to a case about `line_ids` breaks a line's limit ("" if it does not):
    a line's share of keep-the-item cash above `percent` of what was paid for it, of refunds above that."""
    lines = lines_of(order, line_ids)
    new_keep = spread(sum(fen for kind, fen in parts if kind in KEEP_CASH_KINDS), lines)
    new_refund = spread(sum(fen for kind, fen in parts if kind in REFUND_KINDS), lines)
    for item in lines:
        line = existing[item.id]
        keep_limit = Fraction(item.paid_fen) * Fraction(Decimal(percent)) / 100
        if new_keep[item.id] and line.keep_cash + new_keep[item.id] > keep_limit:
            return (f"商品{item.sku}不退货补偿累计{_fen(line.keep_cash + new_keep[item.id])}元将超过该商品上限"
                    f"{_fen(keep_limit)}元（已付{_fen(line.keep_cash)}元）")
        if new_refund[item.id] and line.refund + new_refund[item.id] > item.paid_fen:
            return (f"商品{item.sku}退款累计{_fen(line.refund + new_refund[item.id])}元将超过该商品实付"
                    f"{fen_to_display(item.paid_fen)}元（已退{_fen(line.refund)}元）")
    return ""


def _fen(amount: Fraction) -> str:
    """An exact share for a message, shown to the fen (rounded down)."""
    return fen_to_display(int(amount))


_receipts = MessageReceipt.__table__
_RECEIPT = select(_receipts.c.action).where(_receipts.c.case_id == bindparam("case_id"),
                                            _receipts.c.message_id == bindparam("message_id"))
_insert_receipt = InsertOnce(_receipts, ["case_id", "message_id"])


def receipt_action(session: Session, case_id: int, message_id: Optional[str]) -> Optional[str]:
    """What this buyer message already did on the case ("refuse", "accept"), None if nothing (or no id)."""
    if not message_id:
        return None
    return session.execute(_RECEIPT, {"case_id": case_id, "message_id": str(message_id)[:128]}).scalar_one_or_none()


def record_message(session: Session, case_id: int, message_id: Optional[str], action: str) -> bool:
    """True the first time this buyer message acts on the case; False for a re-sent one. No id: True
    (nothing to recognise it by)."""
    if not message_id:
        return True
    return _insert_receipt(session, {"case_id": case_id, "message_id": str(message_id)[:128], "action": action,
                                     "created_at": now_cn()})
