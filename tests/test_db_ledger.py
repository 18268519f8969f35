"""The ledger grants each thing once: same key twice, or from many threads at once, leaves one row."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import bot.db.statements as statements_module
from bot.db.ledger import (
    InvalidTransition,
    LedgerConflict,
    LedgerError,
    cancel,
    entries_for_buyer,
    entries_for_case,
    grant,
    mark_paid,
    total_granted_fen,
)
from bot.clock import now_cn
from bot.db.models import AfterSalesCase, Buyer, LedgerEntry
from bot.db.session import session_factory

FIRST_OFFER = dict(kind="compensation", amount_fen=200, rule_id="A1.first_offer", seed_rule="A1")


def _count(session, key: str) -> int:
    return session.execute(select(func.count()).select_from(LedgerEntry)
                           .where(LedgerEntry.idempotency_key == key)).scalar_one()


def test_same_key_twice_leaves_one_row_and_returns_the_first(db_session):
    first, created_first = grant(db_session, "conv-1:A1:compensation", **FIRST_OFFER)
    db_session.commit()
    again, created_again = grant(db_session, "conv-1:A1:compensation", **FIRST_OFFER)
    db_session.commit()
    assert (created_first, created_again) == (True, False)
    assert again.id == first.id
    assert _count(db_session, "conv-1:A1:compensation") == 1


def test_same_key_with_a_different_payload_is_a_conflict(db_session):
    grant(db_session, "conv-2:A1", **FIRST_OFFER)
    with pytest.raises(LedgerConflict, match="amount_fen: recorded 200, now 500"):
        grant(db_session, "conv-2:A1", **{**FIRST_OFFER, "amount_fen": 500})
    with pytest.raises(LedgerConflict, match="kind"):
        grant(db_session, "conv-2:A1", **{**FIRST_OFFER, "kind": "refund"})
    assert _count(db_session, "conv-2:A1") == 1


@pytest.mark.parametrize("bad, message", [
    ({"amount_fen": -1}, "negative"),
    ({"amount_fen": 2.5}, "must be an int"),
    ({"kind": "cash"}, "unknown ledger kind"),
    ({"rule_id": ""}, "rule_id is required"),
    ({"approved_by": "someone"}, "approved_by"),
])
def test_invalid_grants_are_refused_before_the_database(db_session, bad, message):
    with pytest.raises(LedgerError, match=message):
        grant(db_session, "bad-key", **{**FIRST_OFFER, **bad})
    assert _count(db_session, "bad-key") == 0


def _grant_from_threads(db_engine, key: str, threads: int) -> list[tuple[int, bool]]:
    """`threads` workers, each with its own connection, released together to grant the same key."""
    factory = session_factory(db_engine)
    start = threading.Barrier(threads)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with factory() as session:
                start.wait(timeout=10)
                entry, created = grant(session, key, **FIRST_OFFER)
                session.commit()
                with lock:
                    results.append((entry.id, created))
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture(params=["on_conflict", "savepoint"])
def insert_path(request, monkeypatch) -> str:
    """Run a test through both ways grant() can insert: ON CONFLICT DO NOTHING, and the portable
    SAVEPOINT + IntegrityError fallback used on backends without it."""
    if request.param == "savepoint":
        monkeypatch.setattr(statements_module, "ON_CONFLICT_DIALECTS", ())
    return request.param


def test_a_grant_keeps_its_time_through_either_insert_path(db_session, insert_path):
    # the ON CONFLICT insert is text() with typed parameters: the time must still be stored as UTC and come
    # back as the same instant in China time (an untyped parameter would store the +08:00 wall time as UTC)
    before = now_cn()
    grant(db_session, f"time-{insert_path}", **FIRST_OFFER)
    db_session.commit()
    db_session.expire_all()
    entry = db_session.execute(select(LedgerEntry).where(LedgerEntry.idempotency_key == f"time-{insert_path}")).scalar_one()
    assert entry.created_at.utcoffset() == timedelta(hours=8)
    assert before - timedelta(seconds=1) <= entry.created_at <= now_cn() + timedelta(seconds=1)


def test_same_key_twice_through_either_insert_path(db_session, insert_path):
    first, created = grant(db_session, f"path-{insert_path}", **FIRST_OFFER)
    again, created_again = grant(db_session, f"path-{insert_path}", **FIRST_OFFER)
    assert (created, created_again, again.id) == (True, False, first.id)
    with pytest.raises(LedgerConflict):
        grant(db_session, f"path-{insert_path}", **{**FIRST_OFFER, "amount_fen": 300})
    db_session.commit()  # the failed attempts left the transaction usable
    assert _count(db_session, f"path-{insert_path}") == 1


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_grants_of_one_key_leave_one_row(db_engine, db_session, threads, insert_path):
    results = _grant_from_threads(db_engine, f"race-{threads}", threads)
    assert len(results) == threads
    assert sum(created for _, created in results) == 1  # exactly one writer won
    assert len({entry_id for entry_id, _ in results}) == 1  # and everyone got its row back
    assert _count(db_session, f"race-{threads}") == 1


def test_state_transitions(db_session):
    grant(db_session, "rebate", kind="review_rebate", amount_fen=300, rule_id="A1.first_offer")
    grant(db_session, "comp", **FIRST_OFFER)
    assert mark_paid(db_session, "rebate").state == "paid"
    assert mark_paid(db_session, "rebate").state == "paid"  # repeating is harmless
    with pytest.raises(InvalidTransition, match="from paid to cancelled"):
        cancel(db_session, "rebate")
    assert cancel(db_session, "comp").state == "cancelled"
    with pytest.raises(InvalidTransition):
        mark_paid(db_session, "comp")
    with pytest.raises(LedgerError, match="no ledger entry"):
        mark_paid(db_session, "never-granted")


def test_queries_and_totals_ignore_cancelled_entries(db_session, make_order):
    order = make_order("b_led", "523456789012")
    case = AfterSalesCase(buyer_id="b_led", order_id=order.id, intent="damaged")
    db_session.add(case)
    db_session.flush()
    common = dict(case_id=case.id, order_id=order.id, buyer_id="b_led", rule_id="A1.first_offer")
    grant(db_session, "c:comp", kind="compensation", amount_fen=200, **common)
    grant(db_session, "c:rebate", kind="review_rebate", amount_fen=300, **common)
    grant(db_session, "c:extra", kind="compensation", amount_fen=700, **common)
    cancel(db_session, "c:extra")

    assert [e.idempotency_key for e in entries_for_case(db_session, case.id)] == ["c:comp", "c:rebate", "c:extra"]
    assert [e.idempotency_key for e in entries_for_buyer(db_session, "b_led")] == ["c:comp", "c:rebate"]
    assert total_granted_fen(db_session, case_id=case.id) == 500
    assert total_granted_fen(db_session, buyer_id="b_led", kinds=["review_rebate"]) == 300
    assert total_granted_fen(db_session, buyer_id="nobody") == 0


def test_grant_flushes_rows_added_earlier_in_the_same_transaction(db_session):
    db_session.add(Buyer(id="b_new", platform="tmall", credit_tier="5"))  # pending, not flushed
    entry, created = grant(db_session, "tx-1", buyer_id="b_new", **FIRST_OFFER)  # the FK needs the buyer row
    assert created and entry.buyer_id == "b_new"
