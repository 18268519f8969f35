"""After-sales cases, their evidence, invoice requests and hand-offs to a human agent.

All functions work inside the caller's session and transaction (they flush, the caller commits).
The reads an after-sales turn makes on every call are statements built once, at import, with bound
parameters: building a select() costs more than SQLite takes to run it (about 0.1 ms against 0.03).
"""
from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.clock import now_cn
from bot.db.models import (
    CASE_STATUSES,
    INVOICE_KINDS,
    AfterSalesCase,
    CaseLine,
    Evidence,
    Handoff,
    InvoiceRequest,
    Order,
    OrderItem,
    PhotoUpload,
)

ACTIVE_CASE_STATUSES = ("open", "offered", "handed_off")
FINAL_CASE_STATUSES = ("resolved", "closed")


class HandoffError(ValueError):
    """A hand-off that cannot be taken or closed (unknown, already taken by someone else, closed)."""


# --- cases -----------------------------------------------------------------------------------------------

def open_case(session: Session, buyer_id: str, intent: str, *, order: Order | None = None,
              conversation_id: str | None = None, item_skus=()) -> tuple[AfterSalesCase, bool]:
    """The buyer's active case for this conversation, order, intent and order lines, or a new one.
    Returns (case, created). Re-asking in the same conversation continues the case (and its refusals).
    `item_skus` names the lines the problem is about (none: the whole order); an SKU not in the order raises
    ValueError. The new case records them (CaseLine), so its cash counts against those lines only."""
    line_ids = lines_for_skus(order, item_skus) if order is not None else ()
    existing = find_active_case(session, buyer_id, intent, order=order, conversation_id=conversation_id,
                                line_ids=line_ids)
    if existing is not None:
        return existing, False
    case = AfterSalesCase(buyer_id=buyer_id, intent=intent, order_id=order.id if order else None,
                          conversation_id=conversation_id, status="open", refusals=0)
    session.add(case)
    session.flush()
    session.add_all(CaseLine(case_id=case.id, order_item_id=line_id) for line_id in line_ids)
    session.flush()
    return case, True


def find_active_case(session: Session, buyer_id: str, intent: str, *, order: Order | None = None,
                     conversation_id: str | None = None, line_ids=()) -> AfterSalesCase | None:
    query = select(AfterSalesCase).where(
        AfterSalesCase.buyer_id == buyer_id,
        AfterSalesCase.intent == intent,
        AfterSalesCase.status.in_(ACTIVE_CASE_STATUSES),
        AfterSalesCase.order_id == order.id if order else AfterSalesCase.order_id.is_(None),
        AfterSalesCase.conversation_id == conversation_id if conversation_id
        else AfterSalesCase.conversation_id.is_(None),
    ).order_by(AfterSalesCase.id.desc())
    wanted = tuple(sorted(line_ids))
    for case in session.execute(query).scalars():
        if case_line_ids(session, case.id) == wanted:  # a problem with another line is another case
            return case
    return None


def lines_for_skus(order: Order, item_skus) -> tuple[int, ...]:
    """The ids of the order's lines with these SKUs (sorted; () for none = the whole order)."""
    wanted = list(dict.fromkeys(str(sku) for sku in item_skus or () if sku))
    if not wanted:
        return ()
    unknown = sorted(set(wanted) - {item.sku for item in order.items})
    if unknown:
        raise ValueError(f"order {order.order_number} has no item {', '.join(unknown)}")
    return tuple(sorted(item.id for item in order.items if item.sku in wanted))


_CASE_LINES = (select(CaseLine.__table__.c.order_item_id).where(CaseLine.__table__.c.case_id == bindparam("case_id"))
               .order_by(CaseLine.__table__.c.order_item_id))


def case_line_ids(session: Session, case_id: int) -> tuple[int, ...]:
    """The order lines the case recorded (sorted); () means the whole order."""
    return tuple(session.execute(_CASE_LINES, {"case_id": case_id}).scalars())


def case_skus(session: Session, case: AfterSalesCase | None, order: Order | None = None,
              lines: tuple[int, ...] | None = None) -> list[str] | None:
    """The SKUs of the case's lines, for the engine's faulty_items (None: the whole order is priced). With the
    case's `order` (loaded with its lines) the SKUs come from it rather than from another query; `lines`: the
    case's case_line_ids when the caller has them."""
    if case is None:
        return None
    ids = case_line_ids(session, case.id) if lines is None else lines
    if not ids:
        return None
    if order is not None and order.id == case.order_id:
        return list(dict.fromkeys(item.sku for item in sorted(order.items, key=lambda item: item.id)
                                  if item.id in ids))
    skus = session.execute(select(OrderItem.sku).where(OrderItem.id.in_(ids)).order_by(OrderItem.id)).scalars()
    return list(dict.fromkeys(skus))


def update_case(session: Session, case: AfterSalesCase, *, status: str | None = None,
                last_resolution: dict | None = None, summary: str | None = None,
                add_refusal: bool = False) -> AfterSalesCase:
    """Record progress: a new status, the resolution just offered, a refusal, a summary for the agent."""
    values: dict = {}
    if status is not None:
        if status not in CASE_STATUSES:
            raise ValueError(f"unknown case status {status!r}; expected one of {', '.join(CASE_STATUSES)}")
        values["status"] = status
        values["closed_at"] = now_cn() if status in FINAL_CASE_STATUSES else None
    if last_resolution is not None:
        values["last_resolution"] = last_resolution
    if summary is not None:
        values["summary"] = summary
    if add_refusal:
        values["refusals"] = (case.refusals or 0) + 1
    values["updated_at"] = now_cn()
    # One UPDATE of exactly these columns, and the case object told they are stored: the ORM's flush of a
    # changed object cost several times the statement (a third of an assessment's time).
    session.flush()  # anything still pending goes first
    session.execute(_case_update(tuple(values)), {"case_id": case.id, **{f"v_{k}": v for k, v in values.items()}})
    for name, value in values.items():
        set_committed_value(case, name, value)
    return case


_case_updates: dict = {}


def _case_update(columns: tuple[str, ...]):
    """UPDATE aftersales_cases SET <columns> WHERE id = :case_id, built once per set of columns."""
    statement = _case_updates.get(columns)
    if statement is None:
        table = AfterSalesCase.__table__
        statement = update(table).where(table.c.id == bindparam("case_id")).values(
            {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})
        _case_updates[columns] = statement
    return statement


def cases_for_buyer(session: Session, buyer_id: str) -> list[AfterSalesCase]:
    return list(session.execute(
        select(AfterSalesCase).where(AfterSalesCase.buyer_id == buyer_id).order_by(AfterSalesCase.id)
    ).scalars())


_INSERT_EVIDENCE = Evidence.__table__.insert()


def add_evidence(session: Session, case: AfterSalesCase, kind: str, reference: str = "") -> int:
    """Record a piece of evidence on the case (one INSERT, no ORM flush); returns its id. A `case.evidence`
    collection loaded before does not see it (read evidence_rows)."""
    session.flush()  # the case itself must be stored before a row refers to it
    result = session.execute(_INSERT_EVIDENCE, {"case_id": case.id, "kind": kind, "reference": reference,
                                                "created_at": now_cn()})
    return result.inserted_primary_key[0]


_EVIDENCE = (select(Evidence.__table__.c.kind, Evidence.__table__.c.reference)
             .where(Evidence.__table__.c.case_id == bindparam("case_id")).order_by(Evidence.__table__.c.id))


def evidence_rows(session: Session, case_id: int) -> list[tuple[str, str]]:
    """The case's evidence as (kind, reference), oldest first."""
    return [(kind, reference) for kind, reference in session.execute(_EVIDENCE, {"case_id": case_id})]


def evidence_kinds(session: Session, case: AfterSalesCase) -> list[str]:
    """The distinct kinds of evidence given so far (the policy case's `evidence` field), in order."""
    return distinct_kinds(evidence_rows(session, case.id))


def distinct_kinds(rows) -> list[str]:
    return list(dict.fromkeys(kind for kind, _ in rows))


def record_upload(session: Session, reference: str, buyer_id: str, *, conversation_id: str | None = None,
                  size_bytes: int = 0) -> PhotoUpload:
    """The web service stored a photo for this buyer: from now on the reference can be evidence."""
    upload = PhotoUpload(reference=reference, buyer_id=buyer_id, conversation_id=conversation_id,
                         size_bytes=size_bytes)
    session.add(upload)
    session.flush()
    return upload


_UPLOADS = select(PhotoUpload.__table__.c.reference, PhotoUpload.__table__.c.conversation_id).where(
    PhotoUpload.__table__.c.reference.in_(bindparam("references", expanding=True)),
    PhotoUpload.__table__.c.buyer_id == bindparam("buyer_id"))


def own_uploads(session: Session, buyer_id: str, references, conversation_id: str | None = None) -> tuple[str, ...]:
    """The references (in their order) that name a photo this buyer uploaded, in this conversation when the
    upload recorded one. Anything else (made up, someone else's, never stored) is dropped."""
    wanted = [str(ref) for ref in dict.fromkeys(references) if ref]
    if not wanted or not buyer_id:
        return ()
    rows = session.execute(_UPLOADS, {"references": wanted, "buyer_id": buyer_id}).all()
    allowed = {ref for ref, conversation in rows
               if conversation is None or conversation_id is None or conversation == conversation_id}
    return tuple(ref for ref in wanted if ref in allowed)


# --- invoices --------------------------------------------------------------------------------------------

def record_invoice_request(session: Session, order: Order, *, title: str, tax_number: str = "",
                           kind: str = "electronic") -> InvoiceRequest:
    """Record a buyer's invoice request. Refusing an invoice is a 6-point rule breach, so nothing here
    can refuse one: the request is stored as `requested` for the shop to issue."""
    if kind not in INVOICE_KINDS:
        raise ValueError(f"unknown invoice kind {kind!r}; expected one of {', '.join(INVOICE_KINDS)}")
    if not title.strip():
        raise ValueError("an invoice needs a title (发票抬头)")
    request = InvoiceRequest(order_id=order.id, title=title.strip(), tax_number=tax_number.strip(), kind=kind)
    session.add(request)
    session.flush()
    return request


# --- hand-offs -------------------------------------------------------------------------------------------

def create_handoff(session: Session, conversation_id: str, reason: str, summary: str = "", *,
                   case: AfterSalesCase | None = None, deadline=None) -> Handoff:
    """Queue the conversation for a human. A conversation already waiting is not queued twice;
    its summary is brought up to date instead."""
    waiting = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status != "closed")
    ).scalars().first()
    if waiting is not None:
        waiting.summary = summary or waiting.summary
        session.flush()
        return waiting
    handoff = Handoff(conversation_id=conversation_id, reason=reason, summary=summary,
                      case_id=case.id if case else None, status="waiting")
    if deadline is not None:  # a bot.service.deadlines.Deadline
        handoff.deadline_at, handoff.deadline_kind, handoff.deadline_rule = deadline.due_at, deadline.kind, deadline.rule
    session.add(handoff)
    if case is not None:
        case.status = "handed_off"
    session.flush()
    return handoff


def list_handoffs(session: Session, status: str | None = "waiting") -> list[Handoff]:
    """Hand-offs with that status (all when None), oldest first: the agents' queue."""
    query = select(Handoff).order_by(Handoff.created_at, Handoff.id)
    if status is not None:
        query = query.where(Handoff.status == status)
    return list(session.execute(query).scalars())


def take_handoff(session: Session, handoff_id: int, agent_id: str) -> Handoff:
    """An agent takes a waiting conversation. Only one agent can: the UPDATE is conditional on `waiting`.
    Taking one's own hand-off again is a no-op."""
    moved = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="taken", agent_id=agent_id, taken_at=now_cn())
        .execution_options(synchronize_session=False)
    ).rowcount
    handoff = _get_handoff(session, handoff_id)
    if moved != 1 and not (handoff.status == "taken" and handoff.agent_id == agent_id):
        raise HandoffError(f"hand-off {handoff_id} is {handoff.status}"
                           + (f" by {handoff.agent_id}" if handoff.agent_id else ""))
    return handoff


def close_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = _get_handoff(session, handoff_id)
    if handoff.status != "closed":
        handoff.status = "closed"
        handoff.closed_at = now_cn()
        session.flush()
    return handoff


def _get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffError(f"no hand-off {handoff_id}")
    return handoff
