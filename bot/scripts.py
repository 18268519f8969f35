"""The canned replies (Rasa responses in domain.yml), readable and fillable without Rasa.

The actions send a response name plus `reply_variables(...)`; Rasa picks a variation and fills it.
The copilot (and tests) use `ScriptBook.render` to draft the same text Rasa-free.

Every amount a reply shows comes from the policy engine's resolution: the variables are computed from
the option's ledger parts, limits and details, formatted with `fen_to_display` ("2", "10.5"). A template
never carries a figure of its own, so a shop that edits its table changes what the bot says.
"""
from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import yaml

from bot.clock import CN_TZ, parse_time
from bot.money import fen_to_display
from bot.settings import PROJECT_ROOT

DOMAIN_PATH = PROJECT_ROOT / "domain.yml"

# Every variable a template may use. `reply_variables` always returns all of them, so a template can
# never be sent with a `{name}` left unfilled (tests check each template against this list).
VARIABLES = (
    "order_number", "item", "amount", "limit", "compensation", "rebate", "total", "refund", "subsidy",
    "voucher", "points", "threshold", "quote", "deadline", "courier", "waybill", "expected", "evidence",
    "multiplier", "payout", "payout_amount", "shipping", "reason", "why", "granted", "followup", "records", "kind", "title", "tax",
    "price_now", "price_paid", "claim",
)

PART_NAMES = {
    "compensation": "赔偿", "review_rebate": "好评返现", "refund": "退款", "reship": "补寄",
    "voucher": "优惠券", "points": "积分赔付", "shipping_subsidy": "运费补贴",
}
STATE_NAMES = {"paid": "已发放", "promised": "待发放", "cancelled": "已取消"}
PAYOUT_NAMES = {"points": "以积分形式发放", "compensation": "现金赔付", "voucher": "平台红包"}
WHO_PAYS = {"seller": "店铺", "buyer": "您"}

# Which window deadline a script talks about (the first one present wins).
DEADLINE_KEYS = {
    "utter_offer_seven_day_return": ("seven_day_deadline",),
    "utter_explain_seven_day_not_eligible": ("seven_day_deadline",),
    "utter_apologise_late_shipment": ("ship_deadline",),
    "utter_offer_late_shipping_compensation": ("ship_deadline",),
    "utter_explain_ship_deadline": ("ship_deadline",),
    "utter_offer_price_difference": ("price_protection_deadline",),
    "utter_price_protection_expired": ("price_protection_deadline",),
    "utter_price_difference_already_refunded": ("price_protection_deadline",),
    "utter_explain_after_sales_window": ("after_sales_deadline",),
    "utter_outside_window": ("after_sales_deadline", "seven_day_deadline", "price_protection_deadline"),
}
DEFAULT_DEADLINE_KEYS = ("seven_day_deadline", "ship_deadline", "after_sales_deadline", "price_protection_deadline")


def display_time(value: Any) -> str:
    """An aware time (or ISO text) as a buyer reads it: 6月8日 10:00."""
    if value in (None, ""):
        return ""
    moment = parse_time(value) if not isinstance(value, datetime) else value
    moment = moment.astimezone(CN_TZ)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access: options come as engine dataclasses or as their to_dict() JSON."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def part_totals(option: Any) -> dict[str, int]:
    totals: dict[str, int] = {}
    for part in _get(option, "parts", ()) or ():
        kind = _get(part, "kind")
        totals[kind] = totals.get(kind, 0) + int(_get(part, "amount_fen", 0))
    return totals


def describe_parts(parts: Iterable[Any], with_state: bool = True) -> str:
    """'赔偿2元（已发放）、好评返现3元（待发放）' for a confirmation; without states for an offer summary."""
    pieces = []
    for part in parts:
        kind, fen, state = _get(part, "kind"), int(_get(part, "amount_fen", 0)), _get(part, "state", "")
        amount = f"{fen_to_display(fen)}元" if fen else ""
        label = "补寄商品" if kind == "reship" else f"{PART_NAMES.get(kind, kind)}{amount}"
        pieces.append(f"{label}（{STATE_NAMES.get(state, state)}）" if state and with_state else label)
    return "、".join(pieces)


def shipping_text(details: Mapping[str, Any]) -> str:
    legs = details.get("legs") or {}
    if not legs:
        return str(details.get("return_shipping") or "")
    outbound, back = WHO_PAYS.get(legs.get("outbound"), "店铺"), WHO_PAYS.get(legs.get("return"), "您")
    if (details.get("jd_free_pickup") or {}).get("available"):
        # JD: 闪电退款 + freight insurance -> free pick-up of the return (rules-from-seeds C): the return leg
        # costs the buyer nothing, so "退货运费由您承担" would be wrong here.
        text = f"发货运费由{outbound}承担；退货支持免费上门取件，预约后快递员上门取走，不用您出运费。"
    elif outbound == back:
        text = f"来回运费由{back}承担。"
    else:
        text = f"发货运费由{outbound}承担，退货运费由{back}承担。"
    fast = details.get("fast_refund") or {}
    if fast.get("eligible"):
        text += f"您可以享受{fast_refund_name(fast.get('rule'))}：{fast.get('why')}。"
    return text


def fast_refund_name(rule_id: Any) -> str:
    """What the buyer's platform calls its fast refund: JD's 闪电退款, Tmall's 极速退款."""
    try:
        from bot.policy.loader import load_pack  # cached per pack fingerprint
        family = load_pack().rule(str(rule_id)).family
    except Exception:  # an unknown rule id or no pack: the generic name
        family = None
    return "闪电退款" if family == "lightning_refund" else "极速退款"


def reply_variables(resolution: Any = None, option: Any = None, order: Any = None, **extra: Any) -> dict[str, str]:
    """All template variables for presenting `option` (default: the resolution's current offer).

    `order` is a bot.service OrderView (or anything with order_number, item_title, courier, waybill,
    expected_delivery). `extra` overrides or adds values (granted, records, invoice fields ...).
    """
    values = {name: "" for name in VARIABLES}
    option = option if option is not None else _get(resolution, "current_offer")
    if order is not None:
        values.update(order_number=str(_get(order, "order_number", "")), item=str(_get(order, "item_title", "")),
                      courier=str(_get(order, "courier", "") or ""), waybill=str(_get(order, "waybill", "") or ""),
                      expected=display_time(_get(order, "expected_delivery")) or "近期")
    if option is not None:
        values.update(_option_variables(option))
        script = _get(option, "script", "")
        window = _get(resolution, "window", {}) or {}
        for key in DEADLINE_KEYS.get(script, DEFAULT_DEADLINE_KEYS):
            if window.get(key):
                values["deadline"] = display_time(window[key])
                break
    values.update({k: "" if v is None else str(v) for k, v in extra.items()})
    return values


def _option_variables(option: Any) -> dict[str, str]:
    totals = part_totals(option)
    details = _get(option, "details", {}) or {}
    amount, limit = int(_get(option, "amount_fen", 0)), int(_get(option, "limit_fen", 0))
    keep_item = totals.get("compensation", 0) + totals.get("review_rebate", 0)
    values = {
        "amount": fen_to_display(amount), "limit": fen_to_display(limit),
        "compensation": fen_to_display(totals.get("compensation", 0)),
        "rebate": fen_to_display(totals.get("review_rebate", 0)),
        "total": fen_to_display(keep_item or amount),
        "refund": fen_to_display(totals.get("refund", 0)),
        "subsidy": fen_to_display(totals.get("shipping_subsidy", 0)),
        "voucher": fen_to_display(totals.get("voucher", 0)),
        "points": fen_to_display(totals.get("points", 0)),
        "evidence": "、".join(details.get("shop_evidence") or ()),
        "multiplier": str(details.get("multiplier", "")),
        "shipping": shipping_text(details),
        "reason": str(_get(option, "explanation", "")).rstrip("。"),
        "why": str((details.get("fast_refund") or {}).get("why", "")) if (details.get("fast_refund") or {}).get(
            "eligible") else "",
    }
    payout_kind = next((k for k in ("points", "voucher", "compensation") if k in totals and k != "refund"), "")
    values["payout"] = PAYOUT_NAMES.get(payout_kind, "")
    # The compensation alone: {amount} is the whole option, which also holds the refund when both are granted.
    values["payout_amount"] = fen_to_display(totals.get(payout_kind, 0)) if payout_kind else values["amount"]
    quote = details.get("return_shipping_quote_fen")
    if quote is not None:
        values["quote"] = fen_to_display(int(quote))
    if _get(option, "kind") == "return_with_shipping_subsidy":
        # limit = refund + the shop's shipping cap (13 yuan, or less for a partly faulty order)
        values["threshold"] = fen_to_display(limit - totals.get("refund", 0))
    values.update(_price_variables(details))
    if _get(option, "kind") in ("fast_refund_info",):
        values["why"] = str(_get(option, "explanation", "")).rstrip("。")
    return values


def _price_variables(details: Mapping[str, Any]) -> dict[str, str]:
    """Price protection: the catalog's price now, the unit price paid, and a word on a price the buyer
    stated that the catalog does not show (the reply says which price counts)."""
    values = {}
    if details.get("price_now_fen") is not None:
        values["price_now"] = fen_to_display(int(details["price_now_fen"]))
    if details.get("paid_unit_fen") is not None:
        values["price_paid"] = fen_to_display(int(details["paid_unit_fen"]))
    claimed = details.get("price_claimed_fen")
    if claimed is not None and details.get("price_source") == "catalog":
        values["claim"] = f"您说的{fen_to_display(int(claimed))}元和商品页面的价格对不上，以页面价格为准哦。"
    return values


@dataclass(frozen=True)
class Response:
    name: str
    variations: tuple[dict, ...]


class ScriptBook:
    """The responses of a domain file, rendered Rasa-free: `render("utter_x", variables)`."""

    def __init__(self, responses: Mapping[str, list]):
        self.responses = {name: Response(name, tuple(items)) for name, items in responses.items()}

    @classmethod
    def load(cls, path: Path | str = DOMAIN_PATH) -> "ScriptBook":
        with open(path, encoding="utf-8") as handle:
            domain = yaml.safe_load(handle)
        return cls(domain.get("responses") or {})

    def __contains__(self, name: str) -> bool:
        return name in self.responses

    def variations(self, name: str) -> tuple[dict, ...]:
        return self.responses[name].variations

    def render(self, name: str, variables: Mapping[str, Any], variation: Optional[int] = 0,
               rng: random.Random | None = None) -> dict:
        """{"text": ..., "buttons": [...]} with the variables filled; variation None picks one at random."""
        options = self.variations(name)
        index = (rng or random).randrange(len(options)) if variation is None else variation % len(options)
        chosen = options[index]
        rendered = {"text": fill(chosen.get("text", ""), variables)}
        if chosen.get("buttons"):
            rendered["buttons"] = [{"title": b["title"], "payload": b["payload"].replace("{{", "{").replace("}}", "}")}
                                   for b in chosen["buttons"]]
        return rendered


def template_variables(text: str) -> set[str]:
    """The {names} a template uses ({{ and }} are literal braces, as in Rasa)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


_FIELD = re.compile(r"\{([a-z_]+)\}")


def fill(text: str, variables: Mapping[str, Any]) -> str:
    """Rasa-style filling: {name} -> value; an unknown name is left as it is (never a crash)."""
    return _FIELD.sub(lambda m: str(variables[m.group(1)]) if m.group(1) in variables else m.group(0), text)
