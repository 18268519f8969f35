"""猜你想问: when the intent model is unsure, offer the most likely problems as buttons instead of a dead end.

``clarification_buttons`` turns the NLU's intent ranking (and the entities it found) into up to three buttons
naming problems in the buyer's words, plus 转人工. Each button's payload is Rasa's ``/intent{entities}``
form: a tap is parsed without the model, exactly as if the intent had been recognised, and it carries the
entities of the message that was not understood (an order number typed in it is not lost).

Only intents a buyer could mean as "my problem" are offered: greetings, thanks, yes/no and the like are never
buttons (a tapped 好的 would accept whatever offer is pending).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

# The buyer-facing name of each intent a clarification may offer (short: they are button titles).
BUTTON_TITLES = {
    "damaged": "商品破损",
    "leaking": "漏液/洒了",
    "minor_defect": "有划痕/小瑕疵",
    "quality_issue": "质量问题/坏了",
    "wrong_item": "发错货",
    "missing_item": "少发/漏发",
    "not_received": "没收到货",
    "delivery_status": "查物流",
    "late_shipment": "催发货",
    "counterfeit": "怀疑假货",
    "not_as_described": "与描述不符",
    "no_reason_return": "七天无理由退货",
    "cancel_order": "取消订单",
    "refund_status": "退款进度",
    "invoice": "开发票",
    "price_protection": "价保/补差价",
    "repair_warranty": "维修/保修",
    "shipping_fee": "运费问题",
    "request_compensation": "要补偿",
    "complaint_escalation": "投诉",
}
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
MAX_OPTIONS = 3
# Options far below the best one are noise, not a guess worth a button.
MIN_SHARE_OF_BEST = 0.1
# Entities worth carrying into the tapped intent (what the order form and the policy read).
CARRIED_ENTITIES = ("order_number", "quantity", "amount", "courier")
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Option:
    intent: str
    confidence: float


def likely_options(ranking: Sequence[Mapping[str, Any]], max_options: int = MAX_OPTIONS) -> list[Option]:
    """The best-ranked offerable intents, best first, dropping those far below the best."""
    offerable = [
        Option(str(entry.get("name")), float(entry.get("confidence") or 0.0))
        for entry in ranking
        if entry.get("name") in BUTTON_TITLES
    ]
    offerable.sort(key=lambda option: -option.confidence)
    if not offerable:
        return []
    floor = offerable[0].confidence * MIN_SHARE_OF_BEST
    return [option for option in offerable if option.confidence >= floor][:max_options]


def carried_entities(entities: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The first value of each carried entity type, as Rasa's payload syntax wants it."""
    carried: dict[str, Any] = {}
    for entity in entities or []:
        name = entity.get("entity")
        if name in CARRIED_ENTITIES and name not in carried and entity.get("value") is not None:
            carried[name] = entity["value"]
    return carried


def intent_payload(intent: str, entities: Mapping[str, Any] | None = None) -> str:
    """``/damaged`` or ``/damaged{"order_number": "886600010001"}`` (Rasa parses it without the model)."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(dict(entities), ensure_ascii=False, separators=(',', ':'))}"


def clarification_buttons(
    ranking: Sequence[Mapping[str, Any]], entities: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, str]]:
    """Up to three problem buttons (best first), then 转人工; only 转人工 when nothing is offerable."""
    carried = carried_entities(entities)
    buttons = [
        {"title": BUTTON_TITLES[option.intent], "payload": intent_payload(option.intent, carried)}
        for option in likely_options(ranking)
    ]
    return buttons + [HUMAN_BUTTON]


# ---------------------------------------------------------------------------------------------------------
# Reading an unsure message in the light of a pending offer.
#
# While an offer is on the table the buyer answers it: 「不行，5块钱太少了」 is a refusal even when the model,
# which sees the message alone, is unsure which kind. Only refusals are read this way: they pay nothing (they
# move the ladder up, ask for a return quote or hand off, each within its rule), whereas an unsure 「好的」
# read as acceptance would pay money the buyer may not have agreed to, so acceptance must stay confident.

# Refusals that answer any pending offer, and those that answer only a ladder offer (the rules in
# data/rules.yml that turn them into action_refuse_offer).
REFUSALS_OF_ANY_OFFER = ("deny", "request_human")
REFUSALS_OF_A_LADDER_OFFER = ("no_reason_return", "request_compensation", "cancel_order")
# Together these refusals must hold at least this share of the model's probability.
REFUSAL_SHARE = 0.5
# Metadata key of the user event that gives an unsure message again with its reading (actions/actions.py): the
# transcripts skip it, the buyer's own message is already there.
REREAD_MARK = "reread"


def refusal_of_pending_offer(ranking: Sequence[Mapping[str, Any]], ladder_offer: bool) -> str | None:
    """The refusal an unsure message most likely is, when refusals together are the likely reading; else None.

    ``ranking`` is the NLU's intent ranking (nlu_fallback, if there, is ignored); ``ladder_offer`` says whether
    the pending offer is a step of the compensation ladder (then 我要退货 / 我要退款 / 太少了 refuse it too)."""
    allowed = REFUSALS_OF_ANY_OFFER + (REFUSALS_OF_A_LADDER_OFFER if ladder_offer else ())
    scored = [(str(entry.get("name")), float(entry.get("confidence") or 0.0)) for entry in ranking
              if entry.get("name") != FALLBACK_INTENT]
    refusals = [(name, confidence) for name, confidence in scored if name in allowed]
    if not refusals or sum(confidence for _name, confidence in refusals) < REFUSAL_SHARE:
        return None
    best_refusal = max(refusals, key=lambda pair: pair[1])
    best_overall = max(scored, key=lambda pair: pair[1])
    # a message whose single best reading is something else (a new problem, a question) is not a refusal
    return best_refusal[0] if best_refusal == best_overall else None
