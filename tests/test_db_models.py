"""The models round-trip exactly on both backends, and the database itself refuses bad rows."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.clock import CN_TZ
from bot.db.models import (
    AfterSalesCase,
    Buyer,
    Evidence,
    Handoff,
    InvoiceRequest,
    LedgerEntry,
    Order,
    OrderItem,
    Shipment,
)
from bot.db.session import session_factory


def test_order_with_items_and_shipment_round_trips(db_engine, make_order, db_session):
    signed = datetime(2024, 6, 1, 10, 0, tzinfo=CN_TZ)
    order = make_order("b_rt", "123456789012", items=[("GL-1", "10.50", 2, "glass"), ("FR-1", "168.00", 1, "fresh_food")],
                       listing_kind="presale", presale_ship_date=date(2024, 6, 20), free_shipping=False,
                       freight_insurance=True, service_tags=["退货包运费", "极速退款"], note="往返测试")
    order.shipments[0].signed_at = signed
    order.shipments[0].signed_date_only = True
    order.shipments[0].events = [{"at": "2024-06-01", "text": "快件已签收（本人签收）"}]
    db_session.commit()

    with session_factory(db_engine)() as fresh:  # a new session: values come from the database, not the cache
        loaded = fresh.execute(select(Order).where(Order.order_number == "123456789012")).scalar_one()
        assert [(i.sku, i.unit_price_fen, i.paid_fen, i.qty, i.category) for i in loaded.items] == [
            ("GL-1", 1050, 2100, 2, "glass"), ("FR-1", 16800, 16800, 1, "fresh_food")]
        assert loaded.paid_total_fen == 18900
        assert loaded.service_tags == ["退货包运费", "极速退款"]
        assert (loaded.listing_kind, loaded.presale_ship_date) == ("presale", date(2024, 6, 20))
        assert (loaded.free_shipping, loaded.freight_insurance, loaded.note) == (False, True, "往返测试")
        shipment = loaded.latest_shipment
        assert shipment.signed_at == signed and shipment.signed_at.utcoffset() == timedelta(hours=8)
        assert shipment.signed_date_only is True
        assert shipment.events[0]["text"] == "快件已签收（本人签收）"
        assert loaded.buyer.credit_tier == "3"


def test_times_come_back_aware_in_china_time_whatever_zone_went_in(db_engine, db_session):
    utc_instant = datetime(2024, 6, 1, 2, 0, tzinfo=timezone.utc)  # = 10:00 in China
    db_session.add(Buyer(id="b_tz", platform="jd", credit_tier="S2", created_at=utc_instant))
    db_session.commit()
    with session_factory(db_engine)() as fresh:
        created = fresh.get(Buyer, "b_tz").created_at
    assert created == utc_instant
    assert (created.hour, created.utcoffset()) == (10, timedelta(hours=8))


def test_naive_datetime_is_refused(db_session):
    db_session.add(Buyer(id="b_naive", platform="tmall", credit_tier="3", created_at=datetime(2024, 6, 1, 10)))
    with pytest.raises(StatementError, match="naive datetime"):
        db_session.flush()


def test_case_evidence_invoice_handoff_and_ledger_round_trip(db_engine, make_order, db_session):
    order = make_order("b_case", "223456789012")
    case = AfterSalesCase(buyer_id="b_case", order_id=order.id, intent="damaged", conversation_id="conv-1",
                          last_resolution={"options": [{"kind": "compensation", "amount_fen": 200}]})
    db_session.add(case)
    db_session.flush()
    db_session.add_all([
        Evidence(case_id=case.id, kind="photo", reference="upload/abc.jpg"),
        InvoiceRequest(order_id=order.id, title="个人", kind="paper"),
        Handoff(conversation_id="conv-1", case_id=case.id, reason="request_human", summary="买家要求转人工"),
        LedgerEntry(idempotency_key="k-rt", case_id=case.id, order_id=order.id, buyer_id="b_case",
                    kind="compensation", amount_fen=200, rule_id="A1.first_offer", seed_rule="A1"),
    ])
    db_session.commit()
    with session_factory(db_engine)() as fresh:
        loaded = fresh.execute(select(AfterSalesCase)).scalar_one()
        assert loaded.last_resolution["options"][0]["amount_fen"] == 200
        assert [(e.kind, e.reference) for e in loaded.evidence] == [("photo", "upload/abc.jpg")]
        assert (loaded.status, loaded.refusals) == ("open", 0)
        entry = fresh.execute(select(LedgerEntry)).scalar_one()
        assert (entry.state, entry.approved_by, entry.amount_fen) == ("promised", "bot", 200)
        assert fresh.execute(select(Handoff)).scalar_one().status == "waiting"
        assert fresh.execute(select(InvoiceRequest)).scalar_one().kind == "paper"


def _insert_raw_ledger_row(db_session, amount_fen: int) -> None:
    db_session.execute(text(
        "INSERT INTO ledger_entries (idempotency_key, kind, amount_fen, rule_id, seed_rule, approved_by, state,"
        " note, created_at, updated_at) VALUES (:key, 'compensation', :amount, 'A1', 'A1', 'bot', 'promised', '',"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"key": f"raw-{amount_fen}", "amount": amount_fen})


def test_check_constraint_refuses_negative_ledger_amount(db_session):
    _insert_raw_ledger_row(db_session, 0)  # zero is fine (a re-shipment costs the buyer nothing)
    with pytest.raises(IntegrityError):
        _insert_raw_ledger_row(db_session, -1)


@pytest.mark.parametrize("bad", [{"category": "toys"}, {"qty": 0}, {"paid_fen": -5}])
def test_item_constraints(make_order, db_session, bad):
    order = make_order("b_bad", "323456789012")
    fields = dict(order_id=order.id, sku="X", title="x", category="glass", unit_price_fen=100, paid_fen=100, qty=1)
    db_session.add(OrderItem(**{**fields, **bad}))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_order_number_is_unique(make_order, db_session):
    make_order("b_u1", "423456789012")
    with pytest.raises(IntegrityError):
        make_order("b_u2", "423456789012")


def test_foreign_keys_are_enforced(db_session):
    db_session.add(Shipment(order_id=999999, courier="x", waybill="y"))
    with pytest.raises(IntegrityError):
        db_session.flush()
