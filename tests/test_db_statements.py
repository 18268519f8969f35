"""bot.db.statements.InsertOnce: the one INSERT the ledger, settlements, receipts and surveys rely on to write a
row once, on both of its paths (ON CONFLICT DO NOTHING, and a savepoint on other backends)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import bot.db.statements as statements_module
from bot.clock import now_cn
from bot.db.models import AfterSalesCase, MessageReceipt, SatisfactionSurvey
from bot.db.statements import InsertOnce


@pytest.fixture(params=["on_conflict", "savepoint"])
def insert_path(request, monkeypatch) -> str:
    if request.param == "savepoint":
        monkeypatch.setattr(statements_module, "ON_CONFLICT_DIALECTS", ())
    return request.param


@pytest.fixture
def ended_case(db_session, make_order) -> AfterSalesCase:
    order = make_order("b_stmt", "300000000001")
    case = AfterSalesCase(buyer_id="b_stmt", intent="damaged", order_id=order.id, conversation_id="b_stmt",
                          status="resolved", refusals=0)
    db_session.add(case)
    db_session.flush()
    return case


def test_a_row_goes_in_once_and_the_second_call_says_so(db_session, ended_case, insert_path):
    insert = InsertOnce(MessageReceipt.__table__, ["case_id", "message_id"])
    row = {"case_id": ended_case.id, "message_id": "m1", "action": "accept", "created_at": now_cn()}
    assert insert(db_session, row) is True
    assert insert(db_session, {**row, "action": "refuse"}) is False
    actions = db_session.execute(select(MessageReceipt.action).where(MessageReceipt.case_id == ended_case.id)).scalars()
    assert list(actions) == ["accept"]  # the first row stands, unchanged


def test_returning_gives_the_new_rows_id_and_none_when_the_key_is_taken(db_session, ended_case, insert_path):
    insert = InsertOnce(SatisfactionSurvey.__table__, ["case_id"], returning="id")
    row = {"case_id": ended_case.id, "conversation_id": "b_stmt", "buyer_id": "b_stmt", "order_number": None,
           "intent": "damaged", "resolution_kind": "compensation", "resolver": "bot", "resolved_by": "bot",
           "asked_at": now_cn()}
    new_id = insert(db_session, row)
    assert isinstance(new_id, int)
    assert db_session.get(SatisfactionSurvey, new_id).case_id == ended_case.id
    assert insert(db_session, {**row, "resolution_kind": "refund"}) is None
    kinds = db_session.execute(select(SatisfactionSurvey.resolution_kind)).scalars()
    assert list(kinds) == ["compensation"]


def test_a_column_the_table_does_not_have_is_refused_before_any_sql(db_session):
    insert = InsertOnce(MessageReceipt.__table__, ["case_id", "message_id"])
    with pytest.raises(KeyError, match="no column"):
        insert(db_session, {"case_id": 1, "message_id": "m", "action": "accept", "drop_table": "x"})
