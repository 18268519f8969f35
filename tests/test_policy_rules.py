"""Table-driven tests: every row of sections A, B and C of rules-from-seeds.md, with the seeds' own figures.

The case builders at the top are shared with the other test_policy_* modules.
"""
from __future__ import annotations

from typing import Any, Dict

from bot.policy import load_pack, resolve
from bot.policy.resolution import Resolution

NOW = "2024-06-03T10:00:00+08:00"


def item(sku: str = "B20", price: str = "20.00", qty: int = 1, category: Any = "glass", **extra: Any) -> Dict[str, Any]:
    return {"sku": sku, "title": f"玻璃瓶 {sku}", "price": price, "qty": qty, "category": category, **extra}


def case(**overrides: Any) -> Dict[str, Any]:
    """A signed Tmall order of one 20-yuan glass bottle, with a photo given; override what the test is about."""
    base: Dict[str, Any] = {
        "intent": "damaged", "platform": "tmall", "now": NOW, "items": [item()], "usable": True,
        "evidence": ["photo"], "order_status": "signed", "signed_at": "2024-06-01T10:00:00+08:00",
        "paid_at": "2024-05-30T09:00:00+08:00", "buyer_tier": "3",
    }
    base.update(overrides)
    return base


def run(**overrides: Any) -> Resolution:
    return resolve(case(**overrides), load_pack())


def kinds(res: Resolution) -> list:
    return [o.kind for o in res.options]


def amounts(res: Resolution) -> list:
    return [o.amount_fen for o in res.options]


import pytest  # noqa: E402

from bot.policy.resolution import KEEP_ITEM_CASH  # noqa: E402


def keep_item_cash(option) -> int:
    return sum(p.amount_fen for p in option.parts if p.kind in KEEP_ITEM_CASH)


def part_amounts(option) -> dict:
    return {p.kind: p.amount_fen for p in option.parts}


# ---------------------------------------------------------------------------- A1 / A3 / A7: the ladder

@pytest.mark.parametrize("intent,rule", [("damaged", "A1"), ("leaking", "A3"), ("quality_issue", "A7")])
def test_first_offer_is_2_yuan_plus_3_yuan_rebate_within_5(intent, rule):
    res = run(intent=intent)
    first = res.current_offer
    assert first is res.options[0] and first.rule == rule
    assert part_amounts(first)["compensation"] == 200 and part_amounts(first)["review_rebate"] == 300
    assert first.amount_fen == 500 and first.limit_fen == 500
    rebate = [p for p in first.parts if p.kind == "review_rebate"][0]
    assert rebate.state == "promised"  # paid only once the review is posted
    assert first.evidence_required == ("photo",)


def test_a3_first_offer_also_reships_a_sealing_ring():
    first = run(intent="leaking").options[0]
    assert "reship" in [p.kind for p in first.parts] and first.details["reship"] == ["密封圈"]
    assert first.script == "utter_offer_compensation_rebate_seal"


@pytest.mark.parametrize("quote,kind", [("12.00", "return_with_shipping_subsidy"), ("13.00", "return_with_shipping_subsidy"),
                                        ("13.01", "raised_compensation"), ("15.00", "raised_compensation")])
def test_after_one_refusal_the_quote_is_compared_with_13_yuan(quote, kind):
    res = run(refusals=1, return_shipping_quote=quote)
    assert res.current_offer.kind == kind


def test_quote_12_return_shop_pays_the_whole_quote_without_freight_insurance():
    offer = run(refusals=1, return_shipping_quote="12.00").current_offer
    assert part_amounts(offer) == {"refund": 2000, "shipping_subsidy": 1200}
    assert offer.limit_fen == 2000 + 1300


def test_quote_12_with_freight_insurance_shop_pays_only_the_difference():
    offer = run(refusals=1, return_shipping_quote="12.00", freight_insurance=True,
                freight_insurance_payout="8.00").current_offer
    assert part_amounts(offer)["shipping_subsidy"] == 400


def test_quote_12_with_freight_insurance_payout_unknown_shows_the_ceiling():
    offer = run(refusals=1, return_shipping_quote="12.00", freight_insurance=True).current_offer
    assert part_amounts(offer)["shipping_subsidy"] == 1200 and offer.details["subsidy_is_ceiling"] is True


def test_20_yuan_bottle_refused_once_quote_15_raises_but_never_above_10_yuan():
    res = run(refusals=1, return_shipping_quote="15.00")
    offer = res.current_offer
    assert offer.kind == "raised_compensation" and 500 < offer.amount_fen <= 1000
    assert all(keep_item_cash(o) <= 1000 for o in res.options)
    assert res.options[-1].kind == "half_price_compensation" and res.options[-1].amount_fen == 1000


def test_10_50_yuan_bottle_never_above_5_yuan_cash():
    """Half of 10.50 is 5.25; the seed says 5: the cap rounds down to whole yuan."""
    for refusals in range(4):
        for quote in (None, "12.00", "15.00"):
            extra = {"return_shipping_quote": quote} if quote else {}
            res = run(items=[item("B10", "10.50")], refusals=refusals, **extra)
            assert all(keep_item_cash(o) <= 500 for o in res.options), res.options


def test_half_price_is_only_the_last_step():
    res = run(refusals=2, return_shipping_quote="15.00")
    assert res.current_offer.kind == "half_price_compensation" and res.last_step
    assert [o.kind for o in res.options].index("half_price_compensation") == len(res.options) - 1


def test_unknown_quote_the_second_step_asks_for_it():
    res = run(refusals=1)
    assert res.current_offer.kind == "ask_return_quote" and res.needs == ("return_shipping_quote",)
    assert res.current_offer.amount_fen == 0


def test_beyond_the_last_step_a_human_takes_over():
    res = run(refusals=3, return_shipping_quote="15.00")
    assert res.current_offer.kind == "handoff" and res.needs_human and "beyond_last_step" in res.flags


def test_photo_is_required_before_any_money():
    res = run(evidence=[])
    assert res.current_offer.kind == "request_info" and res.current_offer.amount_fen == 0
    assert res.needs[0] == "photo" and "missing_evidence" in res.flags
    assert res.current_offer.script == "utter_ask_photo"


def test_cheap_item_first_offer_is_trimmed_to_the_cash_cap():
    first = run(items=[item("C6", "6.00")]).options[0]
    assert first.amount_fen == 300 and part_amounts(first)["compensation"] == 200  # rebate trimmed first


def test_a9_partial_order_return_subsidy_limited_and_noted():
    res = run(items=[item("B20"), item("OK1", "30.00", category="cosmetics")], faulty_items=["B20"],
              refusals=1, return_shipping_quote="12.00")
    offer = res.current_offer
    assert part_amounts(offer)["refund"] == 2000  # only the faulty item is refunded
    assert offer.details["shipping_rule"] == "A9" and any(n.rule == "A9" for n in res.notes)


# ---------------------------------------------------------------------------- A2, A4, A5, A6, A8, A10, A11

def test_a2_unusable_full_refund_of_the_item_paid():
    res = run(usable=False, items=[item("B20", paid="18.00")])
    assert res.current_offer.rule == "A2" and res.current_offer.amount_fen == 1800 == res.current_offer.limit_fen


def test_a2_only_the_faulty_item_is_refunded():
    res = run(usable=False, items=[item("B20"), item("X", "50.00")], faulty_items=["X"])
    assert res.current_offer.amount_fen == 5000


def test_usable_unknown_asks_before_offering():
    res = run(usable=None)
    assert res.current_offer.kind == "request_info" and res.needs == ("usable",)


@pytest.mark.parametrize("defect,rule,first,second,rebate", [
    ("scratch", "A4", 100, 200, 0), ("bubble", "A8", 100, 200, 300), ("scissor_mark", "A8", 100, 200, 300),
    (None, "A8", 100, 200, 300)])
def test_a4_a8_small_defects_one_then_two_yuan(defect, rule, first, second, rebate):
    res = run(intent="minor_defect", defect=defect)
    assert [o.rule for o in res.options] == [rule, rule]
    assert [part_amounts(o)["compensation"] for o in res.options] == [first, second]
    assert all(part_amounts(o).get("review_rebate", 0) == rebate for o in res.options)


def test_a5_missing_item_reship_then_refund_of_the_missing_part():
    res = run(intent="missing_item", items=[item("B20"), item("L", "8.00", qty=2)], faulty_items=["L"])
    assert kinds(res) == ["reship", "refund_missing"] and res.options[1].amount_fen == 1600


def test_a5_missing_one_unit_of_two_refunds_one_unit():
    res = run(intent="missing_item", items=[item("L", "8.00", qty=2, faulty_qty=1)])
    assert res.options[1].amount_fen == 800


def test_missing_promised_gift_is_a_broken_promise():
    res = run(intent="missing_item", items=[item("B20"), item("G", "0.00", category="gift")], faulty_items=["G"])
    assert res.current_offer.kind == "reship_gift_and_compensation" and res.current_offer.amount_fen == 200
    assert any("4分" in n.text for n in res.notes)


def test_a6_parcel_in_transit_soothe_then_refund():
    res = run(intent="not_received", order_status="shipped", signed_at=None)
    assert [o.rule for o in res.options] == ["A6", "A6"] and kinds(res) == ["soothe_and_wait", "return_and_refund"]
    assert any("投诉快递" in n.text for n in res.notes)


def test_a11_buyer_fault_shipping_deducted_from_refund():
    res = run(intent="not_received", order_status="shipped", signed_at=None, reason="wrong_address",
              shipping_cost="8.00", refusals=1)
    offer = res.current_offer
    assert offer.rule == "A11" and offer.amount_fen == 2000 - 800 and offer.details["buyer_fault_deduction_fen"] == 800


def test_a11_buyer_fault_without_cost_needs_it():
    res = run(intent="cancel_order", order_status="shipped", signed_at=None, reason="buyer_fault")
    assert "shipping_cost" in res.needs


def test_a10_no_reason_return_buyer_pays_the_difference():
    res = run(intent="shipping_fee", free_shipping=False)
    assert any(o.rule == "A10" for o in res.options)


# ---------------------------------------------------------------------------- B: windows and deadlines

def test_seven_day_window_exact_time_is_168_hours():
    res = run(intent="no_reason_return", signed_at="2024-06-01T10:00:00+08:00")
    assert res.window["seven_day_deadline"].isoformat() == "2024-06-08T10:00:00+08:00"


def test_seven_day_window_date_only_starts_next_midnight():
    res = run(intent="no_reason_return", signed_at="2024-06-01", signed_date_only=True)
    assert res.window["seven_day_deadline"].isoformat() == "2024-06-09T00:00:00+08:00"


@pytest.mark.parametrize("now,open_", [("2024-06-08T09:59:59+08:00", True), ("2024-06-08T10:00:00+08:00", False)])
def test_seven_day_window_boundary(now, open_):
    res = run(intent="no_reason_return", now=now)
    assert (res.current_offer.kind == "seven_day_return") is open_
    assert ("outside_window" in res.flags) is (not open_)


def test_date_only_signed_8_days_ago_is_outside_the_window():
    res = run(intent="no_reason_return", signed_at="2024-05-26", signed_date_only=True, now="2024-06-03T10:00:00")
    assert res.current_offer.kind == "not_eligible" and "outside_window" in res.flags


@pytest.mark.parametrize("category", ["food_opened", "medicine", "underwear", "fresh_food"])
def test_seven_day_excluded_categories(category):
    res = run(intent="no_reason_return", items=[item("F", "30.00", category=category)])
    assert res.current_offer.kind == "not_eligible"


@pytest.mark.parametrize("free_shipping,legs", [(True, {"outbound": "seller", "return": "buyer"}),
                                                (False, {"outbound": "buyer", "return": "buyer"})])
def test_seven_day_shipping_split(free_shipping, legs):
    offer = run(intent="no_reason_return", free_shipping=free_shipping).current_offer
    assert {k: offer.details["legs"][k] for k in ("outbound", "return")} == legs


def test_quality_reason_seller_pays_both_legs():
    res = run(intent="shipping_fee", reason="quality_issue")
    assert res.options[0].details["legs"]["outbound"] == "seller" and res.options[0].details["legs"]["return"] == "seller"


def test_after_sales_window_is_15_days_after_completion():
    inside = run(order_status="completed", completed_at="2024-05-20T10:00:00+08:00", now="2024-06-04T09:00:00+08:00")
    outside = run(order_status="completed", completed_at="2024-05-20T10:00:00+08:00", now="2024-06-04T10:00:01+08:00")
    assert "outside_window" not in inside.flags
    assert "outside_window" in outside.flags and outside.needs_human
    assert outside.window["after_sales_deadline"].isoformat() == "2024-06-04T10:00:00+08:00"


def test_platform_appeal_14_days_after_completion():
    res = run(intent="no_reason_return", order_status="completed", completed_at="2024-06-02T10:00:00+08:00")
    assert res.window["platform_appeal_deadline"].isoformat() == "2024-06-16T10:00:00+08:00"


@pytest.mark.parametrize("kind,extra,deadline", [
    ("ordinary", {}, "2024-06-04T09:00:00+08:00"),
    ("juhuasuan", {}, "2024-06-08T09:00:00+08:00"),
    ("presale", {"presale_ship_date": "2024-06-20T00:00:00+08:00"}, "2024-06-20T00:00:00+08:00")])
def test_shipping_deadlines(kind, extra, deadline):
    res = run(intent="late_shipment", order_status="paid_unshipped", signed_at=None,
              paid_at="2024-06-01T09:00:00+08:00", listing_kind=kind, **extra)
    assert res.window["ship_deadline"].isoformat() == deadline


def test_not_late_yet_is_guidance_only():
    res = run(intent="late_shipment", order_status="paid_unshipped", signed_at=None,
              paid_at="2024-06-02T09:00:00+08:00")
    assert kinds(res) == ["ship_by_deadline"] and res.current_offer.amount_fen == 0


def test_late_shipping_30_percent_as_points():
    res = run(intent="late_shipment", order_status="paid_unshipped", signed_at=None, paid_at="2024-05-25T09:00:00+08:00",
              items=[item("T", "100.00", category="appliance")])
    offer = res.current_offer
    assert offer.rule == "B-late-shipping" and part_amounts(offer) == {"points": 3000}


def test_late_shipping_capped_at_500_yuan():
    res = run(intent="late_shipment", order_status="paid_unshipped", signed_at=None, paid_at="2024-05-25T09:00:00+08:00",
              items=[item("TV", "3000.00", category="large_appliance")])
    assert res.current_offer.amount_fen == 50000 == res.current_offer.limit_fen


def test_before_payment_refusing_to_ship_is_one_penalty_point():
    res = run(intent="late_shipment", order_status="unpaid", signed_at=None)
    assert any("1分" in n.text for n in res.notes)


@pytest.mark.parametrize("reason,comp_kind,comp", [("out_of_stock", "compensation", 600), ("wrong_info", None, 0),
                                                   ("changed_mind", None, 0)])
def test_refund_reasons_before_shipping(reason, comp_kind, comp):
    res = run(intent="cancel_order", order_status="paid_unshipped", signed_at=None, reason=reason)
    parts = part_amounts(res.current_offer)
    assert parts["refund"] == 2000 and parts.get(comp_kind, 0) == comp


def test_out_of_stock_30_percent_capped_at_500():
    res = run(intent="cancel_order", order_status="paid_unshipped", signed_at=None, reason="out_of_stock",
              items=[item("TV", "2000.00", category="large_appliance")])
    assert part_amounts(res.current_offer)["compensation"] == 50000


def test_late_shipping_reason_not_true_asks_to_change_it():
    res = run(intent="cancel_order", order_status="paid_unshipped", signed_at=None, reason="late_shipping",
              paid_at="2024-06-02T09:00:00+08:00")
    assert res.current_offer.kind == "refund_change_reason" and "reason_unverified" in res.flags


def test_late_shipping_reason_true_compensates():
    res = run(intent="cancel_order", order_status="paid_unshipped", signed_at=None, reason="late_shipping",
              paid_at="2024-05-25T09:00:00+08:00")
    assert part_amounts(res.current_offer) == {"refund": 2000, "points": 600}


def test_counterfeit_ten_times_always_human():
    res = run(intent="counterfeit")
    offer = res.current_offer
    assert offer.limit_fen == 10 * 2000 and offer.amount_fen == 0 and res.needs_human
    assert "platform_agent" in res.flags and "进货发票" in offer.details["shop_evidence"]


@pytest.mark.parametrize("signed_by,evidence", [("buyer", "买家签收底单"), ("third_party", "物流公司第三方红章委托证明")])
def test_signed_but_not_received_evidence(signed_by, evidence):
    res = run(intent="not_received", signed_by=signed_by)
    assert res.needs_human and any(evidence in e for e in res.current_offer.details["shop_evidence"])


def test_unresellable_return_note_for_the_agent():
    res = run(intent="no_reason_return")
    assert any(n.rule == "B-unresellable-return" and "盖章" in n.text for n in res.notes)


def test_not_as_described_gift_voucher_then_return_and_penalty_note():
    res = run(intent="not_as_described")
    assert kinds(res) == ["gift_and_voucher", "exchange", "return_refund"]
    assert any("12/6/3" in n.text for n in res.notes)


def test_wrong_item_exchange_shop_pays_return_leg_up_to_13():
    res = run(intent="wrong_item", return_shipping_quote="15.00")
    assert part_amounts(res.current_offer)["shipping_subsidy"] == 1300


def test_invoice_shop_issues_it_and_refusal_costs_6_points():
    res = run(intent="invoice")
    assert res.current_offer.rule == "B-invoice" and any("6分" in n.text for n in res.notes)


def test_refund_status_72_hours():
    res = run(intent="refund_status", refund_requested_at="2024-06-02T08:00:00+08:00")
    assert res.window["platform_intervention_at"].isoformat() == "2024-06-05T08:00:00+08:00"


def test_quality_issue_note_about_ranking_and_wood_smell_script():
    res = run(intent="quality_issue", defect="smell", items=[item("W", "300.00", category="furniture")])
    assert res.options[0].script == "utter_explain_wood_smell"
    assert any("排名" in n.text for n in res.notes)


# ---------------------------------------------------------------------------- C: fast refund, pick-up, JD

@pytest.mark.parametrize("tier,eligible", [("3", True), (3, True), ("5", True), ("2", False), (None, False)])
def test_tmall_fast_refund_needs_three_stars(tier, eligible):
    res = run(intent="no_reason_return", buyer_tier=tier)
    assert res.current_offer.details["fast_refund"]["eligible"] is eligible


@pytest.mark.parametrize("category", ["fresh_food", "large_appliance"])
def test_tmall_fast_refund_excludes_fresh_food_and_large_appliances(category):
    res = run(intent="refund_status", buyer_tier="5", items=[item("X", "99.00", category=category)])
    assert res.options[0].details["fast_refund"]["eligible"] is False


@pytest.mark.parametrize("level,eligible", [("S2", True), ("S5", True), ("S1", False)])
def test_jd_lightning_refund_s2_and_above(level, eligible):
    res = run(intent="refund_status", platform="jd", buyer_tier=level)
    fast = res.options[0].details["fast_refund"]
    assert fast["rule"] == "C-jd-lightning-refund" and fast["eligible"] is eligible


def test_jd_free_pickup_needs_insurance_and_lightning_tag():
    yes = run(intent="no_reason_return", platform="jd", buyer_tier="S2", freight_insurance=True, service_tags=["闪电退款"])
    no = run(intent="no_reason_return", platform="jd", buyer_tier="S2", freight_insurance=False, service_tags=["闪电退款"])
    assert yes.current_offer.details["jd_free_pickup"]["available"] is True
    assert no.current_offer.details["jd_free_pickup"]["available"] is False


@pytest.mark.parametrize("now,open_", [("2024-06-03T08:59:00+08:00", False), ("2024-06-03T09:00:00+08:00", True),
                                       ("2024-06-03T20:00:00+08:00", True), ("2024-06-03T20:01:00+08:00", False)])
def test_pickup_window_nine_to_twenty(now, open_):
    assert run(intent="refund_status", now=now).window["pickup_open_now"] is open_


@pytest.mark.parametrize("category,hours", [("glass", 2), ("large_appliance", 4)])
def test_pickup_courier_two_hours_small_four_large(category, hours):
    res = run(intent="no_reason_return", items=[item("X", "50.00", category=category)])
    assert res.current_offer.details["pickup"]["courier_within_hours"] == hours


def test_freight_insurance_zero_cost_return():
    res = run(intent="shipping_fee", freight_insurance=True)
    assert any(o.rule == "C-freight-insurance" for o in res.options)


def test_service_code_for_furniture_installation():
    res = run(intent="repair_warranty", items=[item("S", "900.00", category="furniture")])
    assert any(o.rule == "C-service-code" for o in res.options)


def test_jd_late_delivery_insurance_tag():
    res = run(intent="delivery_status", platform="jd", buyer_tier="S2", order_status="shipped", signed_at=None,
              service_tags=["晚必赔"])
    assert any(o.rule == "C-jd-late-delivery" for o in res.options)


# ---------------------------------------------------------------------------- other intents of the contract

def test_request_compensation_without_problem_asks_for_it():
    res = run(intent="request_compensation")
    assert res.needs == ("problem",) and res.current_offer.script == "utter_ask_problem"


def test_request_compensation_with_problem_resolves_as_that_problem():
    res = run(intent="request_compensation", problem="damaged")
    assert res.resolved_as == "damaged" and res.current_offer.rule == "A1"


def test_price_protection_refunds_the_drop_with_the_tag():
    res = run(intent="price_protection", service_tags=["价保30天"], price_now="15.00", items=[item(qty=2)])
    assert res.current_offer.kind == "price_difference_refund" and res.current_offer.amount_fen == 1000


def test_price_protection_without_tag_is_not_covered():
    assert run(intent="price_protection", price_now="15.00").current_offer.kind == "not_covered"


def pp(**overrides: Any) -> Resolution:
    return run(intent="price_protection", service_tags=["价保30天"], **overrides)


def test_price_protection_pays_the_catalog_price_not_the_buyers_claim():
    res = pp(price_now="15.00", price_claimed="12.00")
    offer = res.current_offer
    assert offer.kind == "price_difference_refund" and offer.amount_fen == 500
    assert offer.details["price_claimed_fen"] == 1200 and offer.parts[0].state == "paid"
    assert any("以目录价格为准" in note.text for note in res.notes) and not res.needs_human


def test_price_protection_on_a_claim_alone_needs_an_agent():
    res = pp(price_claimed="12.00")
    assert {"price_unverified", "needs_human"} <= set(res.flags)


def test_price_protection_subtracts_what_was_refunded_for_the_line():
    assert pp(price_now="15.00", price_refunded="3.00").current_offer.amount_fen == 200
    again = pp(price_now="15.00", price_refunded="5.00").current_offer
    assert again.kind == "already_refunded" and again.amount_fen == 0 and not again.parts


def test_price_protection_measures_the_drop_from_what_was_paid():
    # listed 20.00, paid 16.00 after a coupon: at 15.00 the buyer lost 1 yuan, not 5
    assert pp(price_now="15.00", items=[item(paid="16.00")]).current_offer.amount_fen == 100
    assert pp(price_now="17.00", items=[item(paid="16.00")]).current_offer.kind == "price_not_lower"


def test_price_protection_of_a_refunded_item_and_out_of_window():
    assert pp(price_now="15.00", item_refunded=True).current_offer.kind == "item_refunded"
    late = pp(price_now="15.00", paid_at="2024-05-01T09:00:00+08:00")
    assert late.current_offer.kind == "not_covered" and "outside_window" in late.flags
    assert late.needs == ()  # no question about today's price once the window closed


def test_abuse_risk_needs_a_human_for_money():
    res = run(prior_claims=3)
    assert "abuse_risk" in res.flags and res.needs_human


@pytest.mark.parametrize("intent", ["damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item",
                                    "not_received", "delivery_status", "late_shipment", "counterfeit",
                                    "not_as_described", "no_reason_return", "cancel_order", "refund_status",
                                    "invoice", "price_protection", "repair_warranty", "shipping_fee",
                                    "request_compensation"])
def test_every_after_sales_intent_resolves_with_a_current_offer(intent):
    res = run(intent=intent)
    assert res.current_offer is not None and res.current_offer.script.startswith("utter_")
    assert res.current_offer.explanation
