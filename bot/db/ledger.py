"""The ledger: everything the shop granted a buyer, each exactly once.

`grant()` is idempotent on its key. The database's unique constraint decides who wins, not a read-then-
write in Python, so a retried action, a double click, or two action-server processes granting the same
thing at the same moment all end with one row:
- SQLite and PostgreSQL: `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`, then read the row back;
- any other backend: insert inside a SAVEPOINT and treat the unique-violation as "already there"
  (both in bot.db.statements.InsertOnce).
Replaying a key with a different payload (another kind, amount, case ...) is a bug in the caller and
raises LedgerConflict rather than silently returning the first grant.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.clock import now_cn
from bot.db.models import LEDGER_KINDS, LEDGER_STATES, LedgerEntry
from bot.db.statements import InsertOnce

# promised -> paid (the rebate was paid after the review, the compensation transferred ...)
# promised -> cancelled (the buyer withdrew, the agent overruled). Paid money is not un-paid here:
# taking it back is a new entry of its own.
ALLOWED_TRANSITIONS = {("promised", "paid"), ("promised", "cancelled")}

# The fields that must match when a key is replayed.
PAYLOAD_FIELDS = ("kind", "amount_fen", "case_id", "order_id", "buyer_id", "rule_id")


class LedgerError(ValueError):
    """A grant or transition the ledger refuses."""


class LedgerConflict(LedgerError):
    """The idempotency key is already used for a different grant."""


class InvalidTransition(LedgerError):
    """A state change the ledger does not allow (e.g. paid -> promised)."""


@dataclass(frozen=True)
class GrantRequest:
    """What one grant says; validated before it goes near the database."""

    idempotency_key: str
    kind: str
    amount_fen: int
    rule_id: str
    case_id: int | None = None
    order_id: int | None = None
    buyer_id: str | None = None
    seed_rule: str = ""
    approved_by: str = "bot"
    state: str = "promised"
    note: str = ""

    def validate(self) -> None:
        if not self.idempotency_key or not self.idempotency_key.strip():
            raise LedgerError("idempotency_key must not be empty")
        if self.kind not in LEDGER_KINDS:
            raise LedgerError(f"unknown ledger kind {self.kind!r}; expected one of {', '.join(LEDGER_KINDS)}")
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise LedgerError(f"amount_fen must be an int (fen), not {type(self.amount_fen).__name__}")
        if self.amount_fen < 0:
            raise LedgerError(f"amount_fen must not be negative: {self.amount_fen}")
        if self.state not in LEDGER_STATES:
            raise LedgerError(f"unknown ledger state {self.state!r}")
        if not self.rule_id:
            raise LedgerError("rule_id is required: every grant names the rule that allowed it")
        if self.approved_by != "bot" and not self.approved_by.startswith("agent:"):
            raise LedgerError(f"approved_by must be 'bot' or 'agent:<id>', not {self.approved_by!r}")

    def row(self) -> dict:
        now = now_cn()
        return {**asdict(self), "created_at": now, "updated_at": now}


def grant(session: Session, idempotency_key: str, *, kind: str, amount_fen: int, rule_id: str,
          case_id: int | None = None, order_id: int | None = None, buyer_id: str | None = None,
          seed_rule: str = "", approved_by: str = "bot", state: str = "promised",
          note: str = "") -> tuple[LedgerEntry, bool]:
    """Record a grant once. Returns (entry, created): created is False when the key was already there.

    Runs in the caller's transaction (the caller commits). Raises LedgerConflict when the key exists with
    a different payload, LedgerError for an invalid request.
    """
    request = GrantRequest(idempotency_key, kind, amount_fen, rule_id, case_id, order_id, buyer_id,
                           seed_rule, approved_by, state, note)
    created = record_grant(session, request)
    return session.execute(_ENTRY_FRESH, {"key": idempotency_key}).scalar_one(), created


def record_grant(session: Session, request: GrantRequest) -> bool:
    """grant() without reading the row back: True if this call recorded it, False if the key was already
    there with the same payload (LedgerConflict if with another). The hot path's grant: the caller knows
    what it granted from the request."""
    request.validate()
    session.flush()  # a case or order created earlier in this transaction must exist before the row refers to it
    created = _insert_once(session, request.row())
    if not created:
        _check_same_payload(session.execute(_ENTRY_FRESH, {"key": request.idempotency_key}).scalar_one(), request)
    return created


_insert_once = InsertOnce(LedgerEntry.__table__, ["idempotency_key"])
_ENTRY_FRESH = (select(LedgerEntry).where(LedgerEntry.idempotency_key == bindparam("key"))
                .execution_options(populate_existing=True))


def _check_same_payload(entry: LedgerEntry, request: GrantRequest) -> None:
    differences = [f"{field}: recorded {getattr(entry, field)!r}, now {getattr(request, field)!r}"
                   for field in PAYLOAD_FIELDS if getattr(entry, field) != getattr(request, field)]
    if differences:
        raise LedgerConflict(f"idempotency key {request.idempotency_key!r} already records a different grant ("
                             + "; ".join(differences) + ")")


def set_state(session: Session, idempotency_key: str, new_state: str) -> LedgerEntry:
    """Move an entry to `new_state`. Repeating the same transition is a no-op (idempotent);
    a disallowed one raises InvalidTransition. The UPDATE is conditional on the old state, so two
    concurrent callers cannot both move it."""
    if new_state not in LEDGER_STATES:
        raise LedgerError(f"unknown ledger state {new_state!r}")
    entry = get_entry(session, idempotency_key)
    if entry is None:
        raise LedgerError(f"no ledger entry with idempotency key {idempotency_key!r}")
    if entry.state == new_state:
        return entry
    if (entry.state, new_state) not in ALLOWED_TRANSITIONS:
        raise InvalidTransition(f"ledger entry {idempotency_key!r} cannot go from {entry.state} to {new_state}")
    moved = session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.idempotency_key == idempotency_key, LedgerEntry.state == entry.state)
        .values(state=new_state, updated_at=now_cn())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(entry)
    if moved != 1 and entry.state != new_state:
        raise InvalidTransition(f"ledger entry {idempotency_key!r} changed concurrently (now {entry.state})")
    return entry


def mark_paid(session: Session, idempotency_key: str) -> LedgerEntry:
    return set_state(session, idempotency_key, "paid")


def cancel(session: Session, idempotency_key: str) -> LedgerEntry:
    return set_state(session, idempotency_key, "cancelled")


def get_entry(session: Session, idempotency_key: str) -> LedgerEntry | None:
    return session.execute(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


_CASE_ENTRIES = select(LedgerEntry).where(LedgerEntry.case_id == bindparam("case_id")).order_by(LedgerEntry.id)


def entries_for_case(session: Session, case_id: int) -> list[LedgerEntry]:
    return list(session.execute(_CASE_ENTRIES, {"case_id": case_id}).scalars())


def entries_for_buyer(session: Session, buyer_id: str, include_cancelled: bool = False) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.buyer_id == buyer_id)
    if not include_cancelled:
        query = query.where(LedgerEntry.state != "cancelled")
    return list(session.execute(query.order_by(LedgerEntry.created_at, LedgerEntry.id)).scalars())


def total_granted_fen(session: Session, *, buyer_id: str | None = None, case_id: int | None = None,
                      order_id: int | None = None, kinds: Iterable[str] | None = None) -> int:
    """Sum of amounts promised or paid (cancelled entries do not count), filtered as asked."""
    query = select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.state != "cancelled")
    if buyer_id is not None:
        query = query.where(LedgerEntry.buyer_id == buyer_id)
    if case_id is not None:
        query = query.where(LedgerEntry.case_id == case_id)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    if kinds is not None:
        query = query.where(LedgerEntry.kind.in_(list(kinds)))
    return int(session.execute(query).scalar_one())
