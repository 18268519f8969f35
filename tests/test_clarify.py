"""bot.clarify: 猜你想问 buttons from the intent ranking."""
from __future__ import annotations

import json

from bot.clarify import HUMAN_BUTTON, clarification_buttons, intent_payload, likely_options

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "damaged", "confidence": 0.31},
    {"name": "greet", "confidence": 0.2},
    {"name": "leaking", "confidence": 0.18},
    {"name": "quality_issue", "confidence": 0.12},
    {"name": "minor_defect", "confidence": 0.09},
]


def test_offers_the_three_most_likely_problems_then_a_human() -> None:
    buttons = clarification_buttons(RANKING)
    assert [b["payload"] for b in buttons] == ["/damaged", "/leaking", "/quality_issue", "/request_human"]
    assert [b["title"] for b in buttons][:1] == ["商品破损"]
    assert buttons[-1] == HUMAN_BUTTON


def test_never_offers_social_intents_or_the_fallback_itself() -> None:
    offered = {option.intent for option in likely_options(RANKING, max_options=10)}
    assert "greet" not in offered and "nlu_fallback" not in offered


def test_drops_options_far_below_the_best() -> None:
    ranking = [{"name": "invoice", "confidence": 0.9}, {"name": "damaged", "confidence": 0.05}]
    assert [o.intent for o in likely_options(ranking)] == ["invoice"]


def test_only_the_human_button_when_nothing_is_offerable() -> None:
    assert clarification_buttons([{"name": "greet", "confidence": 0.4}]) == [HUMAN_BUTTON]
    assert clarification_buttons([]) == [HUMAN_BUTTON]


def test_payload_carries_the_entities_of_the_unclear_message() -> None:
    entities = [
        {"entity": "order_number", "value": "886600010001"},
        {"entity": "order_number", "value": "999"},  # the first one counts
        {"entity": "amount", "value": 1300},
        {"entity": "colour", "value": "red"},  # not carried
    ]
    payload = clarification_buttons(RANKING, entities)[0]["payload"]
    assert payload.startswith("/damaged{")
    assert json.loads(payload[len("/damaged"):]) == {"order_number": "886600010001", "amount": 1300}
    assert intent_payload("invoice") == "/invoice"


def test_after_a_tap_the_flow_reads_the_text_of_the_clarified_message() -> None:
    from actions.dialogue import clarified_text

    unclear = {"event": "user", "text": "瓶口磕掉一块，还能用", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    tap = {"event": "user", "text": "/damaged", "parse_data": {"intent": {"name": "damaged"}}}
    understood = {"event": "user", "text": "杯子碎了", "parse_data": {"intent": {"name": "damaged"}}}
    bot = {"event": "bot", "text": "亲，您遇到的是下面哪个问题呢？"}
    assert clarified_text([unclear, bot, tap]) == "瓶口磕掉一块，还能用"
    assert clarified_text([understood, bot, tap]) is None  # a button after an understood message: its own text
    assert clarified_text([tap]) is None


def _ranking(**confidences):
    return [{"name": "nlu_fallback", "confidence": 0.5}] + [
        {"name": name, "confidence": value} for name, value in sorted(confidences.items(), key=lambda kv: -kv[1])]


def test_an_unsure_refusal_of_a_pending_offer_is_read_as_the_likeliest_refusal():
    from bot.clarify import refusal_of_pending_offer

    # 不行，5块钱太少了: deny and request_compensation together are the likely reading
    ranking = _ranking(deny=0.38, request_compensation=0.30, shipping_fee=0.12, affirm=0.05)
    assert refusal_of_pending_offer(ranking, ladder_offer=True) == "deny"
    # the ladder's own refusals count only for a ladder offer: deny alone is then too unlikely
    assert refusal_of_pending_offer(ranking, ladder_offer=False) is None


def test_acceptance_and_other_readings_are_never_guessed_from_the_pending_offer():
    from bot.clarify import refusal_of_pending_offer

    assert refusal_of_pending_offer(_ranking(affirm=0.45, thank=0.30, deny=0.1), ladder_offer=True) is None
    # refusals hold most of the probability, yet the single best reading is a new problem: not a refusal
    assert refusal_of_pending_offer(_ranking(late_shipment=0.40, deny=0.30, cancel_order=0.25),
                                    ladder_offer=True) is None
    assert refusal_of_pending_offer(_ranking(deny=0.30, quality_issue=0.28, damaged=0.2), ladder_offer=True) is None
    assert refusal_of_pending_offer([], ladder_offer=True) is None
