"""The case the engine resolves: one buyer's problem with the order facts it needs (pydantic v1).

Every money field is yuan in (decimal string or int) and integer fen inside; a float is refused.
Times are ISO-8601; a time without an offset is China time. Unknown fields are refused too: a typo such
as `refusal` silently ignored would make the engine offer the wrong step.
See docs/policy.md for the field-by-field description.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, List, Optional, Tuple, Union

from pydantic import BaseModel, Extra, ValidationError, conint, root_validator, validator
from typing_extensions import Literal

from bot.clock import parse_time
from bot.policy.errors import CaseError, format_pydantic_errors
from bot.policy.types import AFTER_SALES_INTENTS, YuanFen

ORDER_STATUSES = ("unpaid", "paid_unshipped", "shipped", "signed", "completed", "closed")
REASONS = ("out_of_stock", "late_shipping", "wrong_info", "changed_mind", "buyer_fault", "wrong_address",
           "phone_unreachable", "refused_without_reason", "quality_issue", "platform_reason")
DEFECTS = ("scratch", "scissor_mark", "bubble", "blemish", "smell", "other")
PLATFORM_NAMES = {"tmall": "天猫", "taobao": "淘宝", "jd": "京东", "pdd": "拼多多"}


def _time(value: Any) -> Optional[datetime]:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, datetime)):
        raise ValueError("must be an ISO-8601 time such as 2024-06-01T10:00:00+08:00")
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {value!r}") from None


class Item(BaseModel):
    """One order line. `paid` is the total paid for the line (defaults to price x qty)."""
    sku: str
    title: str = ""
    price: YuanFen
    paid: Optional[YuanFen] = None
    qty: conint(ge=1, le=10_000) = 1
    category: Tuple[str, ...] = ()
    faulty_qty: Optional[conint(ge=1)] = None

    class Config:
        extra = Extra.forbid
        allow_mutation = False

    @validator("category", pre=True)
    def _tags(cls, value: Any) -> Tuple[str, ...]:
        """A category may be one word or a list of flags (glass, fresh_food, large_appliance ...)."""
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError("category must be a string or a list of strings")

    @root_validator(skip_on_failure=True)
    def _faulty_qty_within_qty(cls, values: dict) -> dict:
        if values.get("faulty_qty") is not None and values["faulty_qty"] > values["qty"]:
            raise ValueError("faulty_qty is larger than qty")
        return values

    @property
    def paid_fen(self) -> int:
        return self.paid if self.paid is not None else self.price * self.qty

    def concerned_paid_fen(self) -> int:
        """What was paid for the units concerned (all of them unless faulty_qty says fewer), rounded down."""
        units = self.faulty_qty or self.qty
        return self.paid_fen * units // self.qty


class Case(BaseModel):
    intent: str
    platform: str
    now: datetime
    items: List[Item] = []
    faulty_items: List[str] = []
    usable: Optional[bool] = None
    evidence: List[str] = []
    defect: Optional[str] = None
    problem: Optional[str] = None
    order_status: Optional[str] = None
    signed_at: Optional[datetime] = None
    signed_date_only: bool = False
    signed_by: Literal["buyer", "third_party"] = "buyer"
    paid_at: Optional[datetime] = None
    ship_by: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    refund_requested_at: Optional[datetime] = None
    listing_kind: Literal["ordinary", "juhuasuan", "presale"] = "ordinary"
    presale_ship_date: Optional[datetime] = None
    free_shipping: bool = False
    freight_insurance: bool = False
    freight_insurance_payout: Optional[YuanFen] = None
    service_tags: List[str] = []
    buyer_tier: Optional[str] = None
    return_shipping_quote: Optional[YuanFen] = None
    shipping_cost: Optional[YuanFen] = None
    refusals: conint(ge=0, le=1000) = 0
    prior_claims: conint(ge=0) = 0
    price_now: Optional[YuanFen] = None  # the listing's price now, from the shop's catalog (verified)
    price_claimed: Optional[YuanFen] = None  # the price the buyer says it is now: a claim, never paid on
    price_refunded: Optional[YuanFen] = None  # price differences already refunded for this order line
    item_refunded: bool = False  # the line was refunded already (returned, cancelled): nothing to protect
    reason: Optional[str] = None
    order_id: Optional[str] = None
    case_id: Optional[str] = None
    buyer_id: Optional[str] = None

    class Config:
        extra = Extra.forbid
        allow_mutation = False

    _times = validator("now", "signed_at", "paid_at", "ship_by", "completed_at", "refund_requested_at",
                       "presale_ship_date", pre=True, allow_reuse=True)(_time)

    @validator("intent")
    def _known_intent(cls, value: str) -> str:
        if value not in AFTER_SALES_INTENTS:
            raise ValueError(f"unknown intent {value!r} (after-sales intents: {', '.join(AFTER_SALES_INTENTS)})")
        return value

    @validator("problem")
    def _known_problem(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and (value not in AFTER_SALES_INTENTS or value == "request_compensation"):
            raise ValueError(f"problem must be an after-sales intent other than request_compensation, got {value!r}")
        return value

    @validator("platform")
    def _known_platform(cls, value: str) -> str:
        if value not in PLATFORM_NAMES:
            raise ValueError(f"unknown platform {value!r} (known: {', '.join(PLATFORM_NAMES)})")
        return value

    @validator("order_status")
    def _known_status(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {value!r} (known: {', '.join(ORDER_STATUSES)})")
        return value

    @validator("reason")
    def _known_reason(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in REASONS:
            raise ValueError(f"unknown reason {value!r} (known: {', '.join(REASONS)})")
        return value

    @validator("defect")
    def _known_defect(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in DEFECTS:
            raise ValueError(f"unknown defect {value!r} (known: {', '.join(DEFECTS)})")
        return value

    @validator("prior_claims", pre=True)
    def _claims_count(cls, value: Any) -> Any:
        """A count, or the list of earlier claims itself (its length is what the rules use)."""
        return len(value) if isinstance(value, list) else value

    @validator("buyer_tier", pre=True)
    def _tier_text(cls, value: Any) -> Optional[str]:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("buyer_tier must be a star rating 1-5, a JD level S1-S5, or empty")
        return str(value).strip().upper().replace("星", "")

    @root_validator(skip_on_failure=True)
    def _cross_checks(cls, values: dict) -> dict:
        values["buyer_tier"] = _normalise_tier(values["platform"], values.get("buyer_tier"))
        skus = {item.sku for item in values.get("items", [])}
        unknown = [sku for sku in values.get("faulty_items", []) if sku not in skus]
        if unknown:
            raise ValueError(f"faulty_items names SKUs not in items: {unknown}")
        return values

    # ------------------------------------------------------------------ derived facts the rules use

    @property
    def effective_intent(self) -> str:
        """request_compensation with a named problem is resolved as that problem."""
        return self.problem if self.intent == "request_compensation" and self.problem else self.intent

    @property
    def concerned_items(self) -> List[Item]:
        """The faulty (or missing, wrong ...) items; all items when faulty_items is empty."""
        if not self.faulty_items:
            return list(self.items)
        chosen = set(self.faulty_items)
        return [item for item in self.items if item.sku in chosen]

    @property
    def concerned_paid_fen(self) -> int:
        return sum(item.concerned_paid_fen() for item in self.concerned_items)

    @property
    def order_paid_fen(self) -> int:
        return sum(item.paid_fen for item in self.items)

    @property
    def some_items_fine(self) -> bool:
        """True when the order holds goods that are not faulty (A9: the shop pays shipping only for faulty ones)."""
        concerned = {item.sku for item in self.concerned_items}
        return any(item.sku not in concerned or (item.faulty_qty or item.qty) < item.qty for item in self.items)

    def categories(self, items: Optional[List[Item]] = None) -> set:
        return {tag for item in (self.items if items is None else items) for tag in item.category}

    def tier_number(self) -> Optional[int]:
        """Stars 1-5 (Tmall/Taobao) or the JD level number (S2 -> 2); None when unknown or not rated."""
        if not self.buyer_tier:
            return None
        return int(self.buyer_tier.lstrip("S"))


def _normalise_tier(platform: str, tier: Optional[str]) -> Optional[str]:
    if tier in (None, ""):
        return None
    if platform in ("tmall", "taobao"):
        if re.fullmatch(r"[1-5]", tier):
            return tier
        raise ValueError(f"buyer_tier: {tier!r} is not a {PLATFORM_NAMES[platform]} star rating 1-5")
    if platform == "jd":
        if re.fullmatch(r"S[1-5]", tier):
            return tier
        raise ValueError(f"buyer_tier: {tier!r} is not a JD level S1-S5")
    raise ValueError(f"buyer_tier: {PLATFORM_NAMES[platform]} has no buyer tiers, leave it empty (got {tier!r})")


def parse_case(data: Union[dict, Case]) -> Case:
    """A case dict (as the DB layer or the CLI produces it) -> Case, or CaseError with every problem named."""
    if isinstance(data, Case):
        return data
    if not isinstance(data, dict):
        raise CaseError(f"case: must be a JSON object, got {type(data).__name__}")
    try:
        return Case.parse_obj(data)
    except ValidationError as exc:
        raise CaseError(format_pydantic_errors("case", exc.errors())) from None
