"""Turn an order (as bot.db.queries.case_facts gives it) plus the conversation's state into the policy case.

The policy Case refuses unknown fields, while case_facts carries display facts the engine does not take
(order number, courier, waybill ...). So this module picks the engine's fields explicitly and adds what
only the conversation knows: usable?, evidence, the return shipping quote, refusals, prior claims, now.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from bot.money import fen_to_yuan

# The fields of case_facts the engine's Case takes as they are.
ORDER_FIELDS = ("platform", "order_status", "paid_at", "ship_by", "listing_kind", "presale_ship_date",
                "free_shipping", "freight_insurance", "service_tags", "completed_at", "buyer_tier", "signed_at",
                "signed_date_only", "signed_by")
ITEM_FIELDS = ("sku", "title", "price", "paid", "qty")
# Categories whose opened goods cannot go back under the 7-day rule (the pack's excluded list names them).
OPENED_CATEGORY = {"food": "food_opened"}

# Words that say the item can no longer be used (A2: full refund instead of the ladder).
UNUSABLE_WORDS = ("不能用", "无法使用", "用不了", "没法用", "不能使用", "碎成", "碎了一地", "全碎", "完全坏",
                  "坏透", "彻底坏", "报废", "漏光", "废了")
# Words that say it still works (the ladder: keep the item, get money).
USABLE_WORDS = ("还能用", "不影响使用", "能用", "可以用", "不影响")
DEFECT_WORDS = (("scratch", ("划痕", "刮花", "划伤", "刮痕")), ("scissor_mark", ("剪刀纹",)),
                ("bubble", ("气泡",)), ("smell", ("异味", "气味", "味道", "臭")), ("blemish", ("瑕疵", "斑点", "黑点")))


# Refund reasons a buyer states in words (rules-from-seeds A11 buyer's fault, B out of stock). Only reasons that
# change the resolution are read; "不想要了" and the like need no reason (they are the default).
REASON_WORDS = (("out_of_stock", ("缺货", "没货", "断货", "库存不足")),
                ("wrong_address", ("地址写错", "地址填错", "填错地址", "写错地址", "地址错了", "写错了地址", "填错了地址")),
                ("phone_unreachable", ("电话打不通", "电话没打通", "手机没电", "手机停机", "没接到电话", "没接电话")))


@dataclass(frozen=True)
class CaseInputs:
    """What the conversation knows about a problem, beyond the order itself."""
    conversation_id: str
    buyer_id: str
    intent: str
    now: datetime
    order_number: Optional[str] = None
    usable: Optional[bool] = None
    photo_refs: tuple[str, ...] = ()
    return_shipping_quote_fen: Optional[int] = None
    defect: Optional[str] = None
    reason: Optional[str] = None
    price_now_fen: Optional[int] = None
    problem: Optional[str] = None
    # The order lines (SKUs) the problem is about, when the buyer or agent named them; () = the whole order.
    # A new case records them; an existing case keeps the lines it was opened with.
    item_skus: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def usable_from_text(text: str) -> Optional[bool]:
    """False when the buyer says it cannot be used, True when they say it still works, else None."""
    if any(word in text for word in UNUSABLE_WORDS):
        return False
    if any(word in text for word in USABLE_WORDS):
        return True
    return None


def reason_from_text(text: str) -> Optional[str]:
    """The refund reason the buyer's words state (out_of_stock, wrong_address, phone_unreachable), else None."""
    for reason, words in REASON_WORDS:
        if any(word in text for word in words):
            return reason
    return None


# Price protection: words around an amount that say which price it is.
PRICE_NOW_CUES = ("现在", "现价", "降到", "降价到", "降成", "只卖", "只要", "卖", "变成", "到手", "页面", "活动价", "优惠价")
PAID_PRICE_CUES = ("买的时候", "原价", "当时", "花了", "付了", "我买", "买了")
PRICE_DROP_CUES = ("降了", "便宜了", "少了", "差了", "差价")


def price_now_from_text(text: str, amounts: Optional[list[dict]] = None) -> Optional[int]:
    """The current price (fen) a buyer states for price protection: 现在只卖15块了 -> 1500, 降到¥89 -> 8900,
    我2399买的…现在只卖2199了 -> 219900. An amount the buyer paid (…买的, 原价…) or a drop (降了30) is not the
    current price; when unsure, None (the dialogue then asks). `amounts`: the amount entities
    ({value, start, end}) if the caller has them, else bot.entities reads the text."""
    if amounts is None:
        from bot.entities import extract_entities  # spaCy + jieba: loaded only when a price is read
        amounts = [e for e in extract_entities(text) if e.get("entity") == "amount"]
    cued, plain = [], []
    for entity in amounts:
        value, start, end = entity.get("value"), entity.get("start"), entity.get("end")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or start is None or end is None:
            continue
        before, after = text[max(0, start - 6):start], text[end:end + 2]
        if after.startswith("买") or any(cue in before for cue in PAID_PRICE_CUES):
            continue
        if any(before.endswith(cue) or cue in before[-3:] for cue in PRICE_DROP_CUES):
            continue
        (cued if any(cue in before for cue in PRICE_NOW_CUES) else plain).append(value)
    if cued:
        return cued[-1]
    return plain[0] if len(plain) == 1 else None


def defect_from_text(text: str) -> Optional[str]:
    for defect, words in DEFECT_WORDS:
        if any(word in text for word in words):
            return defect
    return None


def policy_case(facts: dict, inputs: CaseInputs, *, evidence: list[str], refusals: int, prior_claims: int,
                case_id: Optional[int] = None, extra: Optional[dict] = None) -> dict:
    """The engine's case dict (see bot.policy.case.Case). `extra`: fields read elsewhere (the catalog's
    price for price protection, bot.service.pricing) that override the order's."""
    case: dict[str, Any] = {key: facts[key] for key in ORDER_FIELDS if facts.get(key) is not None}
    case["items"] = [_item(item) for item in facts.get("items", [])]
    if facts.get("faulty_items"):
        case["faulty_items"] = list(facts["faulty_items"])
    case.update(intent=inputs.intent, now=inputs.now.isoformat(), evidence=list(evidence), refusals=refusals,
                prior_claims=prior_claims, buyer_id=inputs.buyer_id,
                order_id=facts.get("order_number"), case_id=str(case_id) if case_id is not None else None)
    # Damage the buyer did not describe either way counts as still usable: the shop's table treats
    # "usable" as the normal case (A1) and the buyer can always say it is not (A2).
    usable = inputs.usable if inputs.usable is not None else True
    case["usable"] = usable
    optional = {
        "return_shipping_quote": _yuan(inputs.return_shipping_quote_fen),
        # what the buyer says the price is now: a claim the engine checks against the catalog's price
        "price_claimed": _yuan(inputs.price_now_fen),
        "defect": inputs.defect,
        "reason": inputs.reason,
        "problem": inputs.problem if inputs.intent == "request_compensation" else None,
    }
    case.update({key: value for key, value in optional.items() if value is not None})
    case.update(extra or {})
    return case


def _item(item: dict) -> dict:
    out = {key: item[key] for key in ITEM_FIELDS if item.get(key) is not None}
    categories = [item["category"]] if item.get("category") else []
    if item.get("no_return_when_opened") and item.get("category") in OPENED_CATEGORY:
        categories.append(OPENED_CATEGORY[item["category"]])
    out["category"] = categories
    return out


def _yuan(fen: Optional[int]) -> Optional[str]:
    return fen_to_yuan(fen) if fen is not None else None
