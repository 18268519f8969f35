"""Order look-ups are scoped to the buyer; case_facts speaks the policy engine's case format."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import CN_TZ
from bot.db.cases import (
    HandoffError,
    add_evidence,
    close_handoff,
    create_handoff,
    evidence_kinds,
    list_handoffs,
    open_case,
    record_invoice_request,
    take_handoff,
    update_case,
)
from bot.db.ledger import cancel, grant
from bot.db.queries import (
    case_facts,
    claim_history,
    find_order_for_buyer,
    normalize_order_number,
    prior_claims,
    recent_orders,
)


def test_someone_elses_order_looks_exactly_like_an_unknown_one(db_session, make_order):
    make_order("b_owner", "700000000001")
    make_order("b_other", "700000000002")
    assert find_order_for_buyer(db_session, "b_owner", "700000000001").order_number == "700000000001"
    assert find_order_for_buyer(db_session, "b_owner", "700000000002") is None  # b_other's order
    assert find_order_for_buyer(db_session, "b_owner", "799999999999") is None  # no such order
    assert find_order_for_buyer(db_session, "", "700000000001") is None
    assert find_order_for_buyer(db_session, "b_owner", "") is None


def test_order_numbers_are_normalized(db_session, make_order):
    make_order("b_norm", "700000000003")
    assert normalize_order_number(" 7000 0000 0003 ") == "700000000003"
    assert find_order_for_buyer(db_session, "b_norm", "７００００００００００３").order_number == "700000000003"


def test_recent_orders_newest_first_and_only_the_buyers(db_session, make_order):
    now = datetime.now(CN_TZ)
    for days, number in [(9, "710000000001"), (1, "710000000002"), (4, "710000000003")]:
        order = make_order("b_recent", number)
        order.paid_at = now - timedelta(days=days)
    make_order("b_someone", "710000000009")
    db_session.flush()
    assert [o.order_number for o in recent_orders(db_session, "b_recent")] == [
        "710000000002", "710000000003", "710000000001"]
    assert len(recent_orders(db_session, "b_recent", limit=2)) == 2


def test_case_facts_fields(db_session, make_order):
    order = make_order("b_facts", "720000000001", tier="4",
                       items=[("GL-1", "10.50", 2, "glass"), ("FR-1", "168.00", 1, "fresh_food")],
                       free_shipping=False, freight_insurance=True, service_tags=["极速退款"])
    shipment = order.shipments[0]
    shipment.signed_at = datetime(2024, 6, 1, 0, 0, tzinfo=CN_TZ)
    shipment.signed_date_only = True
    shipment.signed_by = "third_party"
    db_session.flush()

    facts = case_facts(order)
    assert facts["items"] == [
        {"sku": "GL-1", "title": "商品GL-1", "price": "10.50", "qty": 2, "category": "glass", "paid": "21.00",
         "no_return_when_opened": False},
        {"sku": "FR-1", "title": "商品FR-1", "price": "168.00", "qty": 1, "category": "fresh_food",
         "paid": "168.00", "no_return_when_opened": False},
    ]
    assert facts["paid_total"] == "189.00"
    assert (facts["platform"], facts["order_status"], facts["buyer_tier"]) == ("tmall", "signed", "4")
    assert (facts["free_shipping"], facts["freight_insurance"], facts["service_tags"]) == (False, True, ["极速退款"])
    assert facts["signed_at"] == "2024-06-01T00:00:00+08:00"
    assert (facts["signed_date_only"], facts["signed_by"]) == (True, "third_party")
    assert (facts["courier"], facts["shipment_status"]) == ("中通快递", "signed")
    assert facts["paid_at"].endswith("+08:00") and facts["listing_kind"] == "ordinary"
    assert "faulty_items" not in facts
    assert case_facts(order, item_skus=["FR-1"])["faulty_items"] == ["FR-1"]
    with pytest.raises(ValueError, match="has no item NOPE"):
        case_facts(order, item_skus=["NOPE"])


def test_case_facts_of_an_unshipped_order(db_session, make_order):
    facts = case_facts(make_order("b_unshipped", "720000000002", status="paid_unshipped"))
    assert facts["order_status"] == "paid_unshipped"
    assert facts["signed_at"] is None and facts["courier"] is None and facts["signed_date_only"] is False


def test_prior_claims_count_claims_not_ledger_lines(db_session, make_order):
    order = make_order("b_claims", "730000000001")
    first, _ = open_case(db_session, "b_claims", "damaged", order=order, conversation_id="c1")
    second, _ = open_case(db_session, "b_claims", "leaking", order=order, conversation_id="c2")
    common = dict(order_id=order.id, buyer_id="b_claims", rule_id="A1.first_offer")
    grant(db_session, "c1:comp", kind="compensation", amount_fen=200, case_id=first.id, **common)
    grant(db_session, "c1:rebate", kind="review_rebate", amount_fen=300, case_id=first.id, **common)
    grant(db_session, "c2:comp", kind="compensation", amount_fen=200, case_id=second.id, **common)
    assert prior_claims(db_session, "b_claims") == 2
    assert prior_claims(db_session, "b_claims", exclude_case_id=second.id) == 1
    cancel(db_session, "c2:comp")
    assert prior_claims(db_session, "b_claims") == 1
    history = claim_history(db_session, "b_claims")
    assert [(h["kind"], h["amount"], h["order_number"]) for h in history] == [
        ("compensation", "2.00", "730000000001"), ("review_rebate", "3.00", "730000000001")]
    assert prior_claims(db_session, "b_nobody") == 0


def test_open_case_continues_the_conversations_case(db_session, make_order):
    order = make_order("b_case", "740000000001")
    case, created = open_case(db_session, "b_case", "damaged", order=order, conversation_id="conv")
    same, created_again = open_case(db_session, "b_case", "damaged", order=order, conversation_id="conv")
    assert created and not created_again and same.id == case.id
    update_case(db_session, case, status="offered", last_resolution={"options": []}, add_refusal=True)
    add_evidence(db_session, case, "photo", "a.jpg")
    add_evidence(db_session, case, "photo", "b.jpg")
    add_evidence(db_session, case, "video", "c.mp4")
    assert (case.status, case.refusals) == ("offered", 1)
    assert evidence_kinds(db_session, case) == ["photo", "video"]
    update_case(db_session, case, status="resolved")
    assert case.closed_at is not None
    fresh, created = open_case(db_session, "b_case", "damaged", order=order, conversation_id="conv")
    assert created and fresh.id != case.id  # a resolved case is not reopened
    with pytest.raises(ValueError, match="unknown case status"):
        update_case(db_session, fresh, status="done")


def test_invoice_request(db_session, make_order):
    order = make_order("b_inv", "750000000001")
    request = record_invoice_request(db_session, order, title=" 某某公司 ", tax_number="91310000MA1K000000")
    assert (request.title, request.kind, request.status) == ("某某公司", "electronic", "requested")
    with pytest.raises(ValueError, match="title"):
        record_invoice_request(db_session, order, title=" ")
    with pytest.raises(ValueError, match="invoice kind"):
        record_invoice_request(db_session, order, title="x", kind="fax")


def test_handoff_queue_and_only_one_agent_takes_it(db_session, make_order):
    order = make_order("b_human", "760000000001")
    case, _ = open_case(db_session, "b_human", "counterfeit", order=order, conversation_id="conv-h")
    handoff = create_handoff(db_session, "conv-h", "counterfeit", "买家称假货", case=case)
    assert create_handoff(db_session, "conv-h", "request_human", "更新摘要").id == handoff.id  # not queued twice
    assert case.status == "handed_off"
    assert [h.summary for h in list_handoffs(db_session)] == ["更新摘要"]

    assert take_handoff(db_session, handoff.id, "agent:7").agent_id == "agent:7"
    assert take_handoff(db_session, handoff.id, "agent:7").status == "taken"  # idempotent for the same agent
    with pytest.raises(HandoffError, match="taken by agent:7"):
        take_handoff(db_session, handoff.id, "agent:9")
    assert list_handoffs(db_session) == []
    assert close_handoff(db_session, handoff.id).closed_at is not None
    assert [h.id for h in list_handoffs(db_session, status=None)] == [handoff.id]
    with pytest.raises(HandoffError, match="no hand-off"):
        take_handoff(db_session, 987654, "agent:7")
