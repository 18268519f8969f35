"""The rule-pack schema (pydantic v1): one model per rule family, strict about unknown keys.

A pack file looks like::

    version: 1
    settings: {...}        # at most once per pack (ShopSettings)
    x-anything: ...        # anchors for YAML reuse, ignored
    policy_rules:          # not "rules": Rasa would read the file as dialogue rules
      - id: A1
        seed: "004 A1"
        family: compensation_ladder
        ...

Money fields are yuan decimal strings turned into integer fen (`YuanFen`); the engine never sees yuan.
Cross-field checks (a first offer above its own limit, a setting naming a model that does not exist)
live in validators here, so a pack that loads is a pack the engine can use.
"""
from __future__ import annotations

import re
from datetime import time
from typing import Dict, List, Optional, Type

from pydantic import BaseModel, Extra, conint, root_validator, validator
from typing_extensions import Literal

from bot.money import fen_to_yuan
from bot.policy.types import AFTER_SALES_INTENTS, Percent, YuanFen

SCRIPT_KEY = re.compile(r"^utter_[a-z0-9_]+$")
RULE_ID = re.compile(r"^[A-D](\d+|-[a-z0-9-]+)$")
PLATFORMS = ("tmall", "taobao", "jd", "pdd")


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


def _check_script(value: str) -> str:
    if not isinstance(value, str) or not SCRIPT_KEY.match(value):
        raise ValueError(f"script key must be a Rasa response name like utter_offer_x, got {value!r}")
    return value


class ScriptKey(str):
    @classmethod
    def __get_validators__(cls):
        yield _check_script


class Intent(str):
    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: str) -> str:
        if value not in AFTER_SALES_INTENTS:
            raise ValueError(f"unknown intent {value!r}")
        return value


class Platform(str):
    @classmethod
    def __get_validators__(cls):
        yield cls.validate

    @classmethod
    def validate(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r} (known: {', '.join(PLATFORMS)})")
        return value


Hours = conint(ge=0, le=24 * 366)
Days = conint(ge=0, le=366)


class RuleBase(Strict):
    id: str
    seed: str
    family: str
    title: str

    @validator("id")
    def _id_shape(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule id must look like A1, B-some-name or C-some-name")
        return value


# ----------------------------------------------------------------------------- the shop's table (A)

class FirstOffer(Strict):
    compensation: YuanFen
    review_rebate: YuanFen = YuanFen(0)
    limit: YuanFen

    @root_validator(skip_on_failure=True)
    def _within_own_limit(cls, values: dict) -> dict:
        total = values["compensation"] + values["review_rebate"]
        if total > values["limit"]:
            raise ValueError(
                f"compensation + review_rebate ({fen_to_yuan(total)}) is above the first offer's own limit "
                f"({fen_to_yuan(values['limit'])})")
        return values


class LadderScripts(Strict):
    first_offer: ScriptKey
    ask_return_quote: ScriptKey
    return_with_subsidy: ScriptKey
    raised_compensation: ScriptKey
    half_price: ScriptKey


class CompensationLadderRule(RuleBase):
    """A1/A3/A7: first offer, then the 13-yuan comparison, then half the price as the last step."""
    family: Literal["compensation_ladder"]
    intents: List[Intent]
    evidence_required: List[str] = []
    first_offer: FirstOffer
    return_shipping_threshold: YuanFen
    raise_increment: YuanFen
    half_price_last_step: bool = True
    reship_with_first_offer: List[str] = []
    scripts: LadderScripts


class FullRefundRule(RuleBase):
    family: Literal["full_refund"]
    intents: List[Intent]
    evidence_required: List[str] = []
    channels: List[Literal["refund_request", "alipay_after_confirm"]]
    script: ScriptKey


class SmallCompensationRule(RuleBase):
    """A4/A8: a small range offered low end first; optional good-review rebate on top."""
    family: Literal["small_compensation"]
    intents: List[Intent]
    defects: List[str]
    evidence_required: List[str] = []
    steps: List[YuanFen]
    review_rebate: YuanFen = YuanFen(0)
    script: ScriptKey

    @validator("steps")
    def _rising(cls, steps: List[int]) -> List[int]:
        if not steps:
            raise ValueError("at least one step is needed")
        if any(b < a for a, b in zip(steps, steps[1:])):
            raise ValueError("steps must not go down (the ladder only rises)")
        return steps


class MissingItemScripts(Strict):
    reship: ScriptKey
    refund: ScriptKey


class MissingItemRule(RuleBase):
    family: Literal["missing_item"]
    intents: List[Intent]
    evidence_required: List[str] = []
    scripts: MissingItemScripts


class CourierScripts(Strict):
    soothe_and_wait: ScriptKey
    return_and_refund: ScriptKey


class CourierProblemRule(RuleBase):
    family: Literal["courier_problem"]
    intents: List[Intent]
    scripts: CourierScripts


class PartialReturnShippingRule(RuleBase):
    family: Literal["partial_return_shipping"]
    max_shop_shipping: YuanFen
    script: ScriptKey


class NoReasonReturnShippingRule(RuleBase):
    family: Literal["no_reason_return_shipping"]
    buyer_pays_shipping_difference: bool
    script: ScriptKey


class BuyerFaultRule(RuleBase):
    family: Literal["buyer_fault"]
    reasons: List[str]
    deduct_from_refund: bool
    script: ScriptKey


# ----------------------------------------------------------------------------- platform rules (B)

class RefundBeforeShippingScripts(Strict):
    refund: ScriptKey
    change_reason: ScriptKey


class RefundBeforeShippingRule(RuleBase):
    family: Literal["refund_before_shipping"]
    compensating_reasons: List[str]
    plain_reasons: List[str]
    scripts: RefundBeforeShippingScripts

    @root_validator(skip_on_failure=True)
    def _disjoint(cls, values: dict) -> dict:
        both = set(values["compensating_reasons"]) & set(values["plain_reasons"])
        if both:
            raise ValueError(f"reasons both compensating and plain: {sorted(both)}")
        return values


class CompensationModel(Strict):
    percent: Percent
    cap: Optional[YuanFen] = None
    payout: Literal["compensation", "voucher", "points"]
    claim_within_hours: Optional[Hours] = None
    none_if_reshipped_in_time: bool = False


class OutOfStockRule(RuleBase):
    family: Literal["out_of_stock_compensation"]
    model: str
    models: Dict[str, CompensationModel]
    script: ScriptKey

    @root_validator(skip_on_failure=True)
    def _model_exists(cls, values: dict) -> dict:
        if values["model"] not in values["models"]:
            raise ValueError(f"model {values['model']!r} is not one of the models defined: "
                             f"{', '.join(values['models'])}")
        return values


class LateShippingScripts(Strict):
    apologise: ScriptKey
    compensate: ScriptKey


class LateShippingRule(RuleBase):
    family: Literal["late_shipping_compensation"]
    percent: Percent
    cap: Optional[YuanFen] = None
    payout: Literal["compensation", "points"]
    penalty_points_before_payment: conint(ge=0)
    scripts: LateShippingScripts


class RefundAfterShippingRule(RuleBase):
    family: Literal["refund_after_shipping"]
    reasons: List[str]
    straight_to_platform_agent: List[str]
    hurts_ranking: List[str]
    repair_script: ScriptKey

    @root_validator(skip_on_failure=True)
    def _subsets(cls, values: dict) -> dict:
        known = set(values["reasons"])
        for field in ("straight_to_platform_agent", "hurts_ranking"):
            unknown = set(values[field]) - known
            if unknown:
                raise ValueError(f"{field} names reasons not in reasons: {sorted(unknown)}")
        return values


class InvoiceRule(RuleBase):
    family: Literal["invoice"]
    buyer_never_pays: List[str]
    penalty_points: conint(ge=0)
    script: ScriptKey


class SellerFaultScripts(Strict):
    exchange: ScriptKey
    refund: ScriptKey


class SellerFaultReturnsRule(RuleBase):
    family: Literal["seller_fault_returns"]
    intents: List[Intent]
    max_return_shipping: YuanFen
    evidence_required: List[str] = []
    scripts: SellerFaultScripts


class ShippingDeadlinesRule(RuleBase):
    family: Literal["shipping_deadlines"]
    ordinary_hours: conint(gt=0, le=24 * 366)
    juhuasuan_days: conint(gt=0, le=366)
    presale: Literal["listing_date"]
    script: ScriptKey


class DisputeTimeoutRule(RuleBase):
    family: Literal["dispute_timeout"]
    platform_intervention_hours: conint(gt=0, le=24 * 366)
    script: ScriptKey


class AfterSalesWindowRule(RuleBase):
    family: Literal["after_sales_window"]
    days: conint(gt=0, le=366)
    timeout_hours: conint(gt=0, le=24 * 366)
    script: ScriptKey


class SevenDayScripts(Strict):
    offer: ScriptKey
    not_eligible: ScriptKey


class SevenDayReturnRule(RuleBase):
    family: Literal["seven_day_return"]
    hours: conint(gt=0, le=24 * 366)
    date_only_starts: Literal["next_day_midnight", "same_day_midnight"]
    excluded_categories: List[str]
    conditions: List[str]
    platform_appeal_days: conint(gt=0, le=366)
    scripts: SevenDayScripts


class SevenDayShippingRule(RuleBase):
    family: Literal["seven_day_shipping"]
    split: Literal["one_leg_each_if_free_shipping", "buyer_pays_both"]
    seller_pays_both_for: List[str]
    script: ScriptKey


class CounterfeitRule(RuleBase):
    family: Literal["counterfeit"]
    multiplier: conint(ge=1, le=100)
    always_needs_human: bool
    shop_evidence: List[str]
    buyer_evidence: List[str] = []
    script: ScriptKey


class SignedNotReceivedRule(RuleBase):
    family: Literal["signed_not_received"]
    evidence_buyer_signed: List[str]
    evidence_third_party: List[str]
    script: ScriptKey

    @validator("evidence_buyer_signed", "evidence_third_party")
    def _not_empty(cls, value: List[str]) -> List[str]:
        if not value:
            raise ValueError("the evidence list must not be empty")
        return value


class UnresellableReturnRule(RuleBase):
    family: Literal["unresellable_return"]
    statement_fields: List[str]


class PenaltyPointsRule(RuleBase):
    family: Literal["penalty_points"]
    points: Dict[str, conint(ge=0, le=48)]


class ResponseTimesRule(RuleBase):
    family: Literal["response_times"]
    question_hours: conint(gt=0)
    complaint_hours: conint(gt=0)
    return_request_hours: conint(gt=0)
    complaint_close_working_days: conint(gt=0)


class NotAsDescribedScript(Strict):
    next_order_voucher: YuanFen
    script: ScriptKey


class BrokenPromiseScript(Strict):
    compensation: YuanFen
    script: ScriptKey


class WoodSmellScript(Strict):
    categories: List[str]
    script: ScriptKey


class CannedScriptsRule(RuleBase):
    family: Literal["canned_scripts"]
    not_as_described: NotAsDescribedScript
    broken_promise: BrokenPromiseScript
    wood_smell: WoodSmellScript
    opening_line: ScriptKey


class PriceProtectionScripts(Strict):
    refund_difference: ScriptKey
    not_covered: ScriptKey
    already_refunded: ScriptKey


class PriceProtectionRule(RuleBase):
    family: Literal["price_protection"]
    service_tags: List[str]
    days: conint(gt=0, le=366)
    scripts: PriceProtectionScripts


# ----------------------------------------------------------------------------- fast refund and pick-up (C)

class FastRefundRule(RuleBase):
    family: Literal["fast_refund"]
    platforms: List[Platform]
    min_tier: conint(ge=1, le=5)
    within_days: conint(gt=0, le=366)
    excluded_categories: List[str]
    seller_hours_otherwise: conint(gt=0)
    fastest_minutes: conint(gt=0)
    script: ScriptKey


class PickupRule(RuleBase):
    family: Literal["pickup"]
    opens: time
    closes: time
    small_item_hours: conint(gt=0, le=72)
    large_item_hours: conint(gt=0, le=72)
    large_categories: List[str]
    response_minutes: conint(gt=0)
    late_courier_compensated: bool
    script: ScriptKey

    @root_validator(skip_on_failure=True)
    def _opens_before_closes(cls, values: dict) -> dict:
        if values["opens"] >= values["closes"]:
            raise ValueError("opens must be earlier than closes")
        return values


class FreightInsuranceRule(RuleBase):
    family: Literal["freight_insurance"]
    zero_cost_within_first_weight: bool
    script: ScriptKey


class ServiceCodeRule(RuleBase):
    family: Literal["service_code"]
    categories: List[str]
    service_tags: List[str]
    script: ScriptKey


class LightningRefundRule(RuleBase):
    family: Literal["lightning_refund"]
    platforms: List[Platform]
    min_level: str
    excluded_categories: List[str] = []
    script: ScriptKey

    @validator("min_level")
    def _jd_level(cls, value: str) -> str:
        if not re.fullmatch(r"S[1-5]", value):
            raise ValueError("min_level must be a JD level S1..S5")
        return value


class JdFreePickupRule(RuleBase):
    family: Literal["jd_free_pickup"]
    platforms: List[Platform]
    requires_service_tags: List[str]
    requires_freight_insurance: bool
    script: ScriptKey


class LateDeliveryInsuranceRule(RuleBase):
    family: Literal["late_delivery_insurance"]
    platforms: List[Platform]
    service_tags: List[str]
    script: ScriptKey


class PlatformSevenDayRule(RuleBase):
    family: Literal["platform_seven_day"]
    platforms: List[Platform]
    follows: str


# ----------------------------------------------------------------------------- settings

class CashCap(Strict):
    percent: Percent
    round_down_to: YuanFen

    @validator("round_down_to")
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("round_down_to must be at least 0.01")
        return value


class AbuseSettings(Strict):
    prior_claims_threshold: conint(ge=1)


class ShopSettings(Strict):
    cash_cap: CashCap
    abuse: AbuseSettings
    ask_scripts: Dict[str, ScriptKey]
    handoff_script: ScriptKey


FAMILIES: Dict[str, Type[RuleBase]] = {
    model.__fields__["family"].type_.__args__[0]: model
    for model in RuleBase.__subclasses__()
}

# Families the engine consults for every pack: a pack without one of them is refused at load time.
REQUIRED_FAMILIES = (
    "compensation_ladder", "full_refund", "small_compensation", "missing_item", "courier_problem",
    "partial_return_shipping", "no_reason_return_shipping", "buyer_fault", "refund_before_shipping",
    "out_of_stock_compensation", "late_shipping_compensation", "refund_after_shipping", "invoice",
    "seller_fault_returns", "shipping_deadlines", "dispute_timeout", "after_sales_window", "seven_day_return",
    "seven_day_shipping", "counterfeit", "signed_not_received", "unresellable_return", "penalty_points",
    "response_times", "canned_scripts", "fast_refund", "pickup", "freight_insurance",
)
# Families matched by intent (several rules allowed); every other family is a single rule per pack.
MULTI_FAMILIES = ("compensation_ladder", "full_refund", "small_compensation")
