"""Property tests over random cases (hypothesis): whatever the input, the engine stays within its limits.

- no option above its limit, no negative amount, parts always sum to the amount;
- keep-the-item cash never above half of what was paid for the faulty items (rounded down to the yuan);
- the ladder never goes down: for the same case, more refusals never move the buyer to an earlier step,
  and the cash a buyer keeps together with the goods never decreases along the ladder;
- the same case gives the same resolution (determinism).
"""
from __future__ import annotations

from typing import Any, Dict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.policy import load_pack, resolve
from bot.policy.resolution import KEEP_ITEM_CASH
from bot.policy.types import AFTER_SALES_INTENTS

PACK = load_pack()
STATUSES = ["unpaid", "paid_unshipped", "shipped", "signed", "completed", "closed"]
CATEGORIES = ["glass", "fresh_food", "large_appliance", "cosmetics", "furniture", "gift", "food_opened", ""]
REASONS = [None, "out_of_stock", "late_shipping", "wrong_info", "changed_mind", "buyer_fault", "quality_issue"]


def yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


money = st.integers(min_value=0, max_value=500_000).map(yuan_text)
times = st.datetimes(min_value=__import__("datetime").datetime(2024, 1, 1),
                     max_value=__import__("datetime").datetime(2024, 12, 31)).map(lambda d: d.isoformat())


@st.composite
def cases(draw) -> Dict[str, Any]:
    n_items = draw(st.integers(min_value=0, max_value=3))
    items = []
    for index in range(n_items):
        qty = draw(st.integers(min_value=1, max_value=5))
        entry = {"sku": f"S{index}", "price": draw(money), "qty": qty, "category": draw(st.sampled_from(CATEGORIES))}
        if draw(st.booleans()):
            entry["paid"] = draw(money)
        if draw(st.booleans()):
            entry["faulty_qty"] = draw(st.integers(min_value=1, max_value=qty))
        items.append(entry)
    platform = draw(st.sampled_from(["tmall", "taobao", "jd", "pdd"]))
    tier = {"tmall": st.sampled_from([None, 1, "2", "3", 4, "5"]), "taobao": st.sampled_from([None, "1", 5]),
            "jd": st.sampled_from([None, "S1", "S2", "S5"]), "pdd": st.just(None)}[platform]
    data: Dict[str, Any] = {
        "intent": draw(st.sampled_from(AFTER_SALES_INTENTS)), "platform": platform, "now": draw(times),
        "items": items, "usable": draw(st.sampled_from([None, True, False])),
        "evidence": draw(st.sampled_from([[], ["photo"]])), "order_status": draw(st.sampled_from(STATUSES)),
        "refusals": draw(st.integers(min_value=0, max_value=6)), "prior_claims": draw(st.integers(0, 5)),
        "free_shipping": draw(st.booleans()), "freight_insurance": draw(st.booleans()),
        "buyer_tier": draw(tier), "reason": draw(st.sampled_from(REASONS)),
        "listing_kind": draw(st.sampled_from(["ordinary", "juhuasuan", "presale"])),
        "defect": draw(st.sampled_from([None, "scratch", "bubble", "smell", "other"])),
        "service_tags": draw(st.sampled_from([[], ["价保30天"], ["闪电退款"], ["晚必赔", "送装服务"]])),
    }
    if items and draw(st.booleans()):
        data["faulty_items"] = draw(st.lists(st.sampled_from([i["sku"] for i in items]), min_size=1, unique=True))
    for field in ("signed_at", "paid_at", "completed_at", "ship_by", "presale_ship_date", "refund_requested_at"):
        if draw(st.booleans()):
            data[field] = draw(times)
    data["signed_date_only"] = draw(st.booleans())
    for field in ("return_shipping_quote", "freight_insurance_payout", "shipping_cost", "price_now"):
        if draw(st.booleans()):
            data[field] = draw(st.integers(min_value=0, max_value=5_000).map(yuan_text))
    if data["intent"] == "request_compensation" and draw(st.booleans()):
        data["problem"] = draw(st.sampled_from([i for i in AFTER_SALES_INTENTS if i != "request_compensation"]))
    return data


def keep_item_cash(option) -> int:
    return sum(p.amount_fen for p in option.parts if p.kind in KEEP_ITEM_CASH)


FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(cases())
def test_no_option_above_its_limit_or_negative_and_parts_sum_to_amount(data):
    res = resolve(data, PACK)
    for opt in (*res.options, res.current_offer):
        assert 0 <= opt.amount_fen <= opt.limit_fen
        assert all(p.amount_fen >= 0 for p in opt.parts)
        assert sum(p.amount_fen for p in opt.parts) == opt.amount_fen
        assert all(p.state in ("promised", "paid") for p in opt.parts)


@FAST
@given(cases())
def test_shop_table_cash_never_above_half_the_faulty_items_price(data):
    res = resolve(data, PACK)
    case = __import__("bot.policy.case", fromlist=["parse_case"]).parse_case(data)
    cap = case.concerned_paid_fen // 2 // 100 * 100
    for opt in res.options:
        if opt.rule in ("A1", "A3", "A4", "A7", "A8"):
            assert keep_item_cash(opt) <= cap, (opt, cap)


@FAST
@given(cases())
def test_the_ladder_never_goes_down(data):
    steps = []
    for refusals in range(0, 6):
        res = resolve({**data, "refusals": refusals}, PACK)
        ladder = [(o.kind, o.amount_fen, o.rule) for o in res.options]
        steps.append((res.step, ladder, res.current_offer))
        # Among the settlements where the buyer keeps the goods (not the ask / return steps in between).
        cash = [keep_item_cash(o) for o in res.options if any(p.kind in KEEP_ITEM_CASH for p in o.parts)
                and o.rule in ("A1", "A3", "A7", "A4", "A8")]
        assert cash == sorted(cash), res.options
    ladders = {tuple(ladder) for _, ladder, _ in steps}
    assert len(ladders) == 1  # refusals pick a step; they never reshape the ladder
    positions = [step for step, _, _ in steps]
    assert positions == sorted(positions)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_same_case_same_resolution(data):
    assert resolve(data, PACK).to_dict() == resolve(dict(data), PACK).to_dict()


@settings(max_examples=100, deadline=None)
@given(cases())
def test_resolution_json_has_integer_money_only(data):
    def walk(value):
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
    walk(resolve(data, PACK).to_dict())
