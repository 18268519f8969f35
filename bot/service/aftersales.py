"""The after-sales service: what the Rasa actions and the agent copilot both do with a buyer's problem.

One call = one database transaction. The case row (aftersales_cases) is the durable unit of a
negotiation: it holds the order, the intent, the refusals and the last resolution; evidence rows hang
off it; ledger rows point at it. The conversation's own state (is it usable, the return shipping quote)
comes in as `CaseInputs` each time, so the same inputs always give the same resolution.

Buyer scoping: every lookup goes through the buyer's id. Someone else's order number or case id
behaves exactly like an unknown one (OrderNotFound / CaseNotFound) and nothing is written.
Money: the ledger is written only on `accept`, once per part (idempotency key from the case, rule,
step and part kind), so a repeated 好的, a retried action or an agent's double click add nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import logging

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.clock import now_cn
from bot.db import cases as db_cases
from bot.db import ledger, queries
from bot.db import settlement as db_settlement
from bot.db.models import AfterSalesCase, Order
from bot.db.session import DatabaseUnavailable, session_scope
from bot.policy.engine import resolve
from bot.policy.loader import PolicyPack, load_pack_in_service
from bot.policy.resolution import Option, Resolution
from bot.service.casebuild import CaseInputs, policy_case
from bot.service.deadlines import handoff_deadline
from bot.service.pricing import is_price_difference, price_ledger_key, price_protection_fields
from bot.service import satisfaction
from bot.service.summary import handoff_summary

logger = logging.getLogger(__name__)

__all__ = ["AfterSalesService", "Assessment", "Acceptance", "HandoffResult", "OrderView", "CaseInputs",
           "OrderNotFound", "CaseNotFound", "NothingToAccept", "AlreadyCompensated", "DatabaseUnavailable",
           "ServiceError"]

# Offer kinds that are questions or hand-offs, not something a buyer can accept.
NON_OFFER_KINDS = ("request_info", "handoff", "ask_return_quote", "ask_problem")
# Rule families whose options are a negotiation ladder: damage / leak / quality (A1/A3/A7), small defects
# (A4/A8), and a missing part (A5: re-send, else refund that part). A buyer who turns a step down, even in words
# the NLU reads as another intent (不行，我要退货 / 5块钱太少了 / 不用补了直接退钱吧), moves to the next step,
# never into a new case.
LADDER_FAMILIES = ("compensation_ladder", "small_compensation", "missing_item")
# The ladder step that already is a return with a refund (what a buyer asking to return wants).
RETURN_OFFER_KINDS = ("return_with_shipping_subsidy",)


class ServiceError(Exception):
    """A request the service cannot carry out; the message is for logs, not buyers."""


class OrderNotFound(ServiceError):
    """No such order for this buyer (it may not exist, or it may be someone else's: same answer)."""


class CaseNotFound(ServiceError):
    """No such case for this buyer."""


class NothingToAccept(ServiceError):
    """The current step is a question, information or a hand-off: there is nothing to grant."""


class AlreadyCompensated(ServiceError):
    """The order already got money from another case (or this grant would pass the order's limit): the bot
    pays nothing more on it; an agent decides, with the history (`history`, one line per earlier case)."""

    def __init__(self, message: str, history: str = ""):
        super().__init__(message)
        self.history = history


@dataclass(frozen=True)
class OrderView:
    """What a reply may say about an order (the buyer's own)."""
    order_number: str
    item_title: str
    status: str
    paid_total_fen: int
    courier: Optional[str]
    waybill: Optional[str]
    expected_delivery: Optional[datetime]
    shipment_status: Optional[str]

    @classmethod
    def of(cls, order: Order) -> "OrderView":
        shipment = order.latest_shipment
        titles = [item.title for item in order.items]
        return cls(order_number=order.order_number, item_title="、".join(titles[:2]) + ("等" if len(titles) > 2 else ""),
                   status=order.status, paid_total_fen=order.paid_total_fen,
                   courier=shipment.courier if shipment else None, waybill=shipment.waybill if shipment else None,
                   expected_delivery=shipment.expected_delivery if shipment else None,
                   shipment_status=shipment.status if shipment else None)

    @property
    def button_title(self) -> str:
        return f"{self.item_title} ({self.order_number[-6:]})"


@dataclass(frozen=True)
class Assessment:
    """A case and its resolution at this moment of the conversation."""
    case_id: Optional[int]
    order: OrderView
    resolution: Resolution
    refusals: int
    case_status: str

    @property
    def offer(self) -> Option:
        return self.resolution.current_offer

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(self.resolution.needs)

    @property
    def needs_human(self) -> bool:
        return self.resolution.needs_human

    @property
    def acceptable(self) -> bool:
        """A concrete offer the buyer can say 好的 to (not a question, not information only)."""
        offer = self.offer
        return (offer is not None and offer.kind not in NON_OFFER_KINDS and bool(offer.parts)
                and not self.needs and not self.needs_human)


@dataclass(frozen=True)
class GrantedPart:
    kind: str
    amount_fen: int
    state: str
    idempotency_key: str
    created: bool


@dataclass(frozen=True)
class Acceptance:
    assessment: Assessment
    parts: tuple[GrantedPart, ...]
    already_accepted: bool
    # already_accepted because this very buyer message (same message id) settled it: the channel re-sent it,
    # so the reply should be the first one again, not "already registered"
    resent: bool = False
    # the satisfaction question recorded with this settlement (accept(ask_satisfaction=True)), else None
    survey_id: Optional[int] = None

    @property
    def created_any(self) -> bool:
        return any(part.created for part in self.parts)


@dataclass(frozen=True)
class HandoffResult:
    handoff_id: int
    summary: str
    case_id: Optional[int]


class AfterSalesService:
    def __init__(self, db_url: Optional[str] = None, pack: Optional[PolicyPack] = None):
        self.db_url = db_url
        self._pack = pack

    @property
    def pack(self) -> PolicyPack:
        # load_pack caches per file fingerprint, so an edited table is picked up without a restart
        return self._pack or load_pack_in_service()  # a broken edit: the last good pack stays in service

    def _session(self):
        return session_scope(self.db_url)

    # ------------------------------------------------------------------ orders

    def recent_orders(self, buyer_id: str, limit: int = 5) -> list[OrderView]:
        with self._session() as session:
            return [OrderView.of(order) for order in queries.recent_orders(session, buyer_id, limit)]

    def find_order(self, buyer_id: str, order_number: str) -> Optional[OrderView]:
        with self._session() as session:
            order = queries.find_order_for_buyer(session, buyer_id, order_number)
            return OrderView.of(order) if order else None

    # ------------------------------------------------------------------ the case

    def assess(self, inputs: CaseInputs, case_id: Optional[int] = None, *, record: bool = True) -> Assessment:
        """Open (or continue) the case, record new photo evidence, resolve. `record=False` only reads:
        it answers a side question (e.g. shipping costs while a photo is awaited) without a case row."""
        with self._session() as session:
            if not record:
                order = self._order(session, inputs)
                return self._resolve(session, None, order, inputs, evidence=[], refusals=0)
            case, order = self._case(session, inputs, case_id)
            evidence = self._record_photos(session, case, inputs.photo_refs)
            return self._resolve_and_store(session, case, order, inputs, evidence=evidence)

    def refuse(self, inputs: CaseInputs, case_id: int, message_id: Optional[str] = None) -> tuple[Assessment, bool]:
        """The buyer said 不行 to the current offer. Moves one step up the ladder and returns
        (assessment, moved). At the last step nothing moves (moved=False): the caller hands off.
        `message_id` (the buyer message's id): a re-sent message that already moved the ladder moves nothing
        and returns the step it led to, with moved=True, so the reply is the same as the first time."""
        with self._session() as session:
            case, order = self._case(session, inputs, case_id)
            current = self._resolve(session, case, order, inputs)
            if current.resolution.last_step or not current.resolution.options:
                return current, False
            if not db_settlement.record_message(session, case.id, message_id, "refuse"):
                return current, True
            session.execute(update(AfterSalesCase).where(AfterSalesCase.id == case.id)
                            .values(refusals=AfterSalesCase.refusals + 1, updated_at=now_cn())
                            .execution_options(synchronize_session=False))
            session.refresh(case)
            return self._resolve_and_store(session, case, order, inputs), True

    def accept(self, inputs: CaseInputs, case_id: int, approved_by: str = "bot",
               message_id: Optional[str] = None, ask_satisfaction: bool = False) -> Acceptance:
        """The buyer (or an agent, approved_by="agent:<id>") accepted the current offer: write each part to
        the ledger once. A case already settled (by this offer or another, by the bot or an agent, even at
        the same moment in another process) returns that settlement's grants and writes nothing new.
        The bot pays nothing on an order line another case already paid cash for (AlreadyCompensated).
        `message_id` (the buyer message's id) gets a receipt with the settlement: the same message re-sent
        writes nothing and comes back with resent=True. `ask_satisfaction`: the case ends here, so the buyer's
        satisfaction question is recorded in the same transaction (survey_id; never twice, and a failure to
        record it rolls back only the question, never the settlement)."""
        with self._session() as session:
            # the order's lock before any read the decision rests on (the case included)
            if not db_settlement.lock_order_of_case(session, inputs.buyer_id, case_id):
                raise CaseNotFound(f"{case_id} (or it has no order)")
            case, order = self._case(session, inputs, case_id)
            lines = db_cases.case_line_ids(session, case.id)
            assessment = self._resolve(session, case, order, inputs, lines=lines)
            existing = ledger.entries_for_case(session, case.id)
            if existing or db_settlement.is_settled(session, case.id):
                resent = db_settlement.receipt_action(session, case.id, message_id) == "accept"
                return Acceptance(assessment, self._recorded(existing), already_accepted=True, resent=resent)
            if not assessment.acceptable:
                raise NothingToAccept(f"case {case.id}: current step {assessment.offer.kind} cannot be accepted")
            offer = assessment.offer
            self._check_order_limits(session, case, order, offer, approved_by, lines)
            created = db_settlement.claim_settlement(
                session, case_id=case.id, order_id=order.id, rule_id=offer.rule, step=assessment.resolution.step,
                approved_by=approved_by, cash_fen=cash_fen(offer))
            if not created:  # only without the lock (another backend): the winner's rows stand
                return Acceptance(assessment, self._recorded(ledger.entries_for_case(session, case.id)), True)
            db_settlement.record_message(session, case.id, message_id, "accept")
            parts = tuple(self._grant(session, case, order, assessment, approved_by))
            db_cases.update_case(session, case, status="resolved", last_resolution=assessment.resolution.to_dict(),
                                 summary=handoff_summary(assessment, inputs, reason="accepted"))
            survey_id = self._ask_in_settlement(session, case, offer.kind, approved_by) if ask_satisfaction else None
            return Acceptance(self._with_status(assessment, "resolved"), parts, already_accepted=False,
                              survey_id=survey_id)

    @staticmethod
    def _ask_in_settlement(session: Session, case: AfterSalesCase, resolution_kind: str,
                           approved_by: str) -> Optional[int]:
        """The satisfaction question, inside the settlement's transaction but in its own savepoint: if it cannot
        be recorded, the grant still stands and the buyer is simply not asked."""
        try:
            with session.begin_nested():
                return satisfaction.ask(session, case, resolution_kind=resolution_kind, resolved_by=approved_by)
        except (satisfaction.SurveyError, SQLAlchemyError):
            logger.exception("satisfaction question not recorded for case %s", case.id)
            return None

    @staticmethod
    def _recorded(entries) -> tuple[GrantedPart, ...]:
        return tuple(GrantedPart(e.kind, e.amount_fen, e.state, e.idempotency_key, False) for e in entries)

    def _check_order_limits(self, session: Session, case: AfterSalesCase, order: Order, offer: Option,
                            approved_by: str, lines: tuple[int, ...]) -> None:
        """Under the order's row lock: the bot pays nothing on a line another case already paid cash on (an
        agent decides, with the history); nobody passes the order's or a line's limit. `lines`: the case's."""
        parts = [(part.kind, part.amount_fen) for part in offer.parts if part.amount_fen > 0]
        if not any(kind in db_settlement.CASH_KINDS for kind, _ in parts):
            return
        cash = db_settlement.cash_rows(session, order.id)
        per_line = db_settlement.line_cash(session, order, exclude_case_id=case.id, rows=cash)
        paid_before = db_settlement.cases_paid_on(per_line, lines)
        # A price difference is keyed per order line and price (bot.service.pricing): a further drop on a line
        # refunded before is the new part only, still within what was paid (limit_reason), not a repeat claim.
        if approved_by == "bot" and paid_before and not is_price_difference(offer):
            raise AlreadyCompensated(f"order {order.order_number}: line(s) already compensated in case(s) "
                                     f"{', '.join(map(str, paid_before))}",
                                     order_history(session, order, exclude_case_id=case.id))
        reason = self.limit_reason(session, case, order, parts, per_line, lines, cash)
        if reason:  # the agent who takes it over sees the order's other grants
            raise AlreadyCompensated(reason, order_history(session, order, exclude_case_id=case.id))

    def limit_reason(self, session: Session, case: AfterSalesCase, order: Order, parts: list[tuple[str, int]],
                     per_line: Optional[dict] = None, lines: Optional[tuple[int, ...]] = None,
                     cash: Optional[list] = None) -> str:
        """Why granting `parts` on this case would pass the order's or one of its lines' cash limits ("" if
        not). Call it under the order's row lock (bot.db.settlement.lock_order); `cash` is the order's
        cash_rows when the caller read them under that lock."""
        if cash is None:
            cash = db_settlement.cash_rows(session, order.id)
        earlier = db_settlement.order_cash(session, order.id, exclude_case_id=case.id, rows=cash)
        reason = db_settlement.over_limit(earlier, parts, paid_fen=order.paid_total_fen,
                                          keep_limit_fen=self.keep_cash_limit(order))
        if reason:
            return reason
        if per_line is None:
            per_line = db_settlement.line_cash(session, order, exclude_case_id=case.id, rows=cash)
        if lines is None:
            lines = db_cases.case_line_ids(session, case.id)
        return db_settlement.over_line_limits(per_line, order, lines, parts, percent=self.pack.settings.cash_cap.percent)

    def keep_cash_limit(self, order: Order) -> int:
        cap = self.pack.settings.cash_cap
        return db_settlement.keep_cash_limit_fen(order.paid_total_fen, cap.percent, cap.round_down_to)
    # ------------------------------------------------------------------ satisfaction (满意度)

    def ask_satisfaction(self, buyer_id: str, case_id: int, *, resolution_kind: str,
                         resolved_by: str = "bot") -> Optional[int]:
        """The case just ended: record the question (its id), or None when this case was asked before."""
        with self._session() as session:
            case = self._own_case(session, buyer_id, case_id)
            return satisfaction.ask(session, case, resolution_kind=resolution_kind, resolved_by=resolved_by)

    def rate(self, conversation_id: str, rating: str, comment: Optional[str] = None, *,
             case_id: Optional[int] = None) -> "satisfaction.AnswerResult":
        """The buyer's answer to the question asked in this conversation (the first answer stands)."""
        with self._session() as session:
            return satisfaction.answer(session, conversation_id, rating, comment, case_id=case_id)

    def is_ladder_offer(self, assessment: Assessment) -> bool:
        """True while a concrete step of a ladder (LADDER_FAMILIES) is on the table (not a question, not
        information, not a 7-day return or another intent's offer)."""
        offer = assessment.offer
        if not assessment.acceptable or offer is None:
            return False
        try:
            return self.pack.rule(offer.rule).family in LADDER_FAMILIES
        except KeyError:
            return False

    def hand_off(self, conversation_id: str, buyer_id: str, reason: str, *, inputs: Optional[CaseInputs] = None,
                 case_id: Optional[int] = None) -> HandoffResult:
        """Queue the conversation for a human with a summary of the case (if there is one)."""
        with self._session() as session:
            case = self._own_case(session, buyer_id, case_id) if case_id is not None else None
            summary = f"原因：{reason}；买家：{buyer_id}"
            if case is not None and inputs is not None and case.order is not None:
                assessment = self._resolve(session, case, case.order, inputs)
                summary = handoff_summary(assessment, inputs, reason=reason)
                history = order_history(session, case.order, exclude_case_id=case.id)
                if history:
                    summary += f"；该订单此前已赔付：{history}"
                db_cases.update_case(session, case, summary=summary)
            elif inputs is not None and inputs.order_number:
                summary += f"；订单：{inputs.order_number}；问题：{inputs.intent}"
            intent = case.intent if case is not None else (inputs.intent if inputs is not None else None)
            deadline = handoff_deadline(self.pack, intent, reason, inputs.now if inputs is not None else now_cn())
            handoff = db_cases.create_handoff(session, conversation_id, reason, summary, case=case,
                                              deadline=deadline)
            return HandoffResult(handoff.id, summary, case.id if case else None)

    def record_invoice(self, buyer_id: str, order_number: str, *, title: str, tax_number: str = "",
                       kind: str = "electronic") -> int:
        with self._session() as session:
            order = queries.find_order_for_buyer(session, buyer_id, order_number)
            if order is None:
                raise OrderNotFound(order_number)
            return db_cases.record_invoice_request(session, order, title=title, tax_number=tax_number, kind=kind).id

    def refund_records(self, buyer_id: str, order_number: str) -> list[dict]:
        """The ledger rows of this buyer's order (what was refunded, paid, promised), oldest first."""
        with self._session() as session:
            order = queries.find_order_for_buyer(session, buyer_id, order_number)
            if order is None:
                raise OrderNotFound(order_number)
            return [entry for entry in queries.claim_history(session, buyer_id)
                    if entry["order_number"] == order.order_number]

    # ------------------------------------------------------------------ internals

    def _order(self, session: Session, inputs: CaseInputs) -> Order:
        order = queries.find_order_for_buyer(session, inputs.buyer_id, inputs.order_number or "")
        if order is None:
            raise OrderNotFound(inputs.order_number or "")
        return order

    def _own_case(self, session: Session, buyer_id: str, case_id: int) -> AfterSalesCase:
        case = session.get(AfterSalesCase, int(case_id), populate_existing=True)
        if case is None or case.buyer_id != buyer_id:
            raise CaseNotFound(str(case_id))
        return case

    def _case(self, session: Session, inputs: CaseInputs, case_id: Optional[int]) -> tuple[AfterSalesCase, Order]:
        if case_id is not None:
            case = queries.case_with_order(session, inputs.buyer_id, case_id)
            if case is None:
                raise CaseNotFound(str(case_id))
            order = case.order
            if order is None or order.buyer_id != inputs.buyer_id:
                raise CaseNotFound(f"{case_id} has no order of this buyer")
            return case, order
        order = self._order(session, inputs)
        try:
            case, _ = db_cases.open_case(session, inputs.buyer_id, inputs.intent, order=order,
                                         conversation_id=inputs.conversation_id, item_skus=inputs.item_skus)
        except ValueError as exc:  # an SKU the order does not have: say so, change nothing
            raise OrderNotFound(str(exc)) from exc
        return case, order

    def real_photos(self, buyer_id: str, refs, conversation_id: Optional[str] = None) -> tuple[str, ...]:
        """The references that name a photo this buyer uploaded (bot.db.cases.own_uploads)."""
        with self._session() as session:
            return db_cases.own_uploads(session, buyer_id, refs, conversation_id)

    def record_upload(self, reference: str, buyer_id: str, *, conversation_id: Optional[str] = None,
                      size_bytes: int = 0) -> None:
        with self._session() as session:
            db_cases.record_upload(session, reference, buyer_id, conversation_id=conversation_id,
                                   size_bytes=size_bytes)

    def _record_photos(self, session: Session, case: AfterSalesCase, refs: tuple[str, ...]) -> list[str]:
        """Only a stored upload of this buyer (in this conversation) is photo evidence; other references
        are dropped, so the rules that need a clear photo keep asking for one. Returns the case's evidence
        kinds afterwards (the policy case's `evidence`)."""
        rows = db_cases.evidence_rows(session, case.id)
        known = {reference for kind, reference in rows if kind == "photo"}
        for ref in db_cases.own_uploads(session, case.buyer_id, refs, case.conversation_id):
            if ref and ref not in known:
                db_cases.add_evidence(session, case, "photo", ref)
                rows.append(("photo", ref))
                known.add(ref)
        return db_cases.distinct_kinds(rows)

    def _resolve(self, session: Session, case: Optional[AfterSalesCase], order: Order, inputs: CaseInputs,
                 *, evidence: Optional[list[str]] = None, refusals: Optional[int] = None,
                 lines: Optional[tuple[int, ...]] = None) -> Assessment:
        # the engine prices the case's lines (faulty_items) or, without any, the whole order
        skus = db_cases.case_skus(session, case, order, lines=lines) if case is not None \
            else list(inputs.item_skus) or None
        try:
            facts = queries.case_facts(order, item_skus=skus)
        except ValueError as exc:  # an SKU the order does not have (a read-only assessment): say so
            raise OrderNotFound(str(exc)) from exc
        if evidence is None:
            evidence = db_cases.evidence_kinds(session, case) if case is not None else []
        refusals = refusals if refusals is not None else (case.refusals if case is not None else 0)
        prior = queries.prior_claims(session, inputs.buyer_id, exclude_case_id=case.id if case else None)
        extra = price_protection_fields(session, order, self.pack, inputs.now, inputs.price_now_fen) \
            if inputs.intent == "price_protection" else None
        case_dict = policy_case(facts, inputs, evidence=evidence, refusals=refusals, prior_claims=prior,
                                case_id=case.id if case else None, extra=extra)
        resolution = resolve(case_dict, self.pack)
        return Assessment(case.id if case else None, OrderView.of(order), resolution, refusals,
                          case.status if case else "open")

    def _resolve_and_store(self, session: Session, case: AfterSalesCase, order: Order,
                           inputs: CaseInputs, evidence: Optional[list[str]] = None) -> Assessment:
        assessment = self._resolve(session, case, order, inputs, evidence=evidence)
        status = "offered" if assessment.acceptable and case.status == "open" else None
        db_cases.update_case(session, case, status=status, last_resolution=assessment.resolution.to_dict())
        return self._with_status(assessment, case.status)

    @staticmethod
    def _with_status(assessment: Assessment, status: str) -> Assessment:
        return Assessment(assessment.case_id, assessment.order, assessment.resolution, assessment.refusals, status)

    def _grant(self, session: Session, case: AfterSalesCase, order: Order, assessment: Assessment,
               approved_by: str) -> list[GrantedPart]:
        offer, step = assessment.offer, assessment.resolution.step
        granted, seen = [], {}
        for part in offer.parts:
            seen[part.kind] = seen.get(part.kind, 0) + 1
            key = ledger_key(case.id, order.id, offer, step, part.kind, seen[part.kind])
            request = ledger.GrantRequest(key, part.kind, part.amount_fen, offer.rule, case.id, order.id,
                                          case.buyer_id, offer.seed_rule, approved_by, part.state,
                                          offer.explanation[:500])
            try:
                created = ledger.record_grant(session, request)
            except ledger.LedgerConflict as exc:
                # the same price drop was refunded at the same moment in another case: never twice
                raise NothingToAccept(f"case {case.id}: {exc}") from exc
            # not created: the same grant is there already (same payload; its state may have moved on)
            state = request.state if created else ledger.get_entry(session, key).state
            granted.append(GrantedPart(request.kind, request.amount_fen, state, key, created))
        return granted


def ledger_key(case_id: int, order_id: int, option: Option, step: int, kind: str, occurrence: int = 1) -> str:
    """The ledger key of one part of an accepted option: per order line and price for a price difference
    (bot.service.pricing), else per case, rule, step and part."""
    if is_price_difference(option):
        return price_ledger_key(order_id, option, occurrence)
    return idempotency_key(case_id, option.rule, step, kind, occurrence)


def idempotency_key(case_id: int, rule: str, step: int, kind: str, occurrence: int = 1) -> str:
    """case:12:A1:step0:compensation — the same acceptance always maps to the same keys."""
    key = f"case:{case_id}:{rule}:step{step}:{kind}"
    return key if occurrence == 1 else f"{key}:{occurrence}"


def cash_fen(option: Option) -> int:
    return sum(part.amount_fen for part in option.parts if part.kind in db_settlement.CASH_KINDS)


def order_history(session: Session, order: Order, exclude_case_id: Optional[int] = None) -> str:
    """The order's standing grants from other cases, one clause each, for the agent's summary."""
    lines = []
    for entry in queries.claim_history(session, order.buyer_id, exclude_case_id=exclude_case_id):
        if entry["order_number"] == order.order_number:
            lines.append(f"案件{entry['case_id']}：{entry['kind']} {entry['amount']}元（{entry['rule']}，{entry['state']}）")
    return "；".join(lines)


def summarize_options(assessment: Assessment) -> list[dict[str, Any]]:
    return [option.to_dict() for option in assessment.resolution.options]
