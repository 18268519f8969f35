"""The suite format: what a shop writes in tests/conversations/*.yml, checked strictly.

Every model forbids unknown keys: a typo such as `bot_contain` must fail loudly, never pass silently.
Money is written as yuan strings ("2.00") or integers; a YAML float (2.00 unquoted) is refused, as in the
rule packs. Times are ISO-8601 (no offset = China time) or relative to the conversation's clock:
"now", "now-2d", "now-36h", "now+30m".
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field, root_validator, validator

from bot.clock import parse_time
from bot.db.models import CATEGORIES, LEDGER_KINDS, LEDGER_STATES, LISTING_KINDS, ORDER_STATUSES, PLATFORMS
from bot.money import MoneyError, fen_to_yuan, yuan_to_fen

RELATIVE_TIME = re.compile(r"^now(?:\s*([+-])\s*(\d+(?:\.\d+)?)\s*([dhm]))?$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}
SHIPMENT_STATUSES = ("awaiting_pickup", "in_transit", "out_for_delivery", "signed", "returned", "lost")


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


def check_money(value: Any) -> str:
    """Yuan string or int -> canonical "12.30"; floats are refused (binary floats are not money)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise ValueError(f"write money as a quoted yuan string (\"{value}\"), not a number with a decimal point")
    try:
        return fen_to_yuan(yuan_to_fen(value))
    except (MoneyError, ValueError, TypeError) as exc:
        raise ValueError(f"not an amount in yuan: {value!r}") from exc


def check_time(value: Any) -> str:
    """ISO-8601 or a relative 'now-2d'; kept as text, resolved against the conversation's clock later."""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value).strip()
    if RELATIVE_TIME.match(text):
        return text
    try:
        parse_time(text)
    except ValueError as exc:
        raise ValueError(f"not a time: {text!r} (ISO-8601 like 2024-06-02T18:00:00+08:00, or now-2d)") from exc
    return text


def resolve_time(value: Optional[str], now: datetime) -> Optional[datetime]:
    if value is None:
        return None
    match = RELATIVE_TIME.match(value)
    if not match:
        return parse_time(value)
    sign, amount, unit = match.groups()
    if sign is None:
        return now
    delta = timedelta(**{UNITS[unit]: float(amount)})
    return now + delta if sign == "+" else now - delta


def as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ---------------------------------------------------------------------------------------------- fixtures

class BuyerFixture(Strict):
    id: str
    platform: str = "tmall"
    tier: str = ""  # Tmall/Taobao "1".."5", JD "S1".."S5", PDD ""
    nickname: str = ""

    @validator("id", "tier", pre=True)
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)

    @validator("platform")
    def _platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}")
        return value


class ItemFixture(Strict):
    sku: str
    title: str = ""
    price: str  # unit price, yuan
    qty: int = Field(1, ge=1)
    paid: Optional[str] = None  # what the line cost, yuan (default price x qty)
    category: str = "ordinary"
    no_return_when_opened: bool = False

    _money = validator("price", "paid", pre=True, allow_reuse=True)(lambda cls, v: None if v is None else check_money(v))

    @validator("sku", pre=True)
    def _sku(cls, value: Any) -> str:
        return str(value)

    @validator("category")
    def _category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
        return value


class ShipmentFixture(Strict):
    courier: str = "中通快递"
    waybill: Optional[str] = None
    status: Optional[str] = None  # default: signed when signed_at is given, else in_transit
    shipped_at: Optional[str] = None
    expected_delivery: Optional[str] = None
    signed_at: Optional[str] = None
    signed_date_only: bool = False
    signed_by: Optional[str] = None

    _times = validator("shipped_at", "expected_delivery", "signed_at", pre=True, allow_reuse=True)(
        lambda cls, v: None if v is None else check_time(v))

    @validator("status")
    def _status(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in SHIPMENT_STATUSES:
            raise ValueError(f"shipment status must be one of {', '.join(SHIPMENT_STATUSES)}")
        return value

    @validator("signed_by")
    def _signed_by(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in ("buyer", "third_party"):
            raise ValueError("signed_by must be buyer or third_party")
        return value


class OrderFixture(Strict):
    number: str
    buyer: Optional[str] = None  # another buyer's order (a foreign order number); default: the conversation's
    status: str = "signed"
    paid_at: Optional[str] = None  # default: now-3d
    ship_by: Optional[str] = None  # default: paid_at + 72 h (ordinary), + 7 d (聚划算)
    listing_kind: str = "ordinary"
    presale_ship_date: Optional[str] = None
    free_shipping: bool = True
    freight_insurance: bool = False
    service_tags: List[str] = []
    completed_at: Optional[str] = None
    # Shorthand for the parcel (the example writes signed_at on the order):
    courier: Optional[str] = None
    signed_at: Optional[str] = None
    signed_date_only: Optional[bool] = None
    signed_by: Optional[str] = None
    shipment: Optional[ShipmentFixture] = None
    items: List[ItemFixture]

    _times = validator("paid_at", "ship_by", "completed_at", "signed_at", "presale_ship_date",
                       pre=True, allow_reuse=True)(lambda cls, v: None if v is None else check_time(v))

    @validator("number", pre=True)
    def _number(cls, value: Any) -> str:
        text = str(value).strip()
        if not text.isdigit():
            raise ValueError(f"an order number is digits only: {value!r}")
        return text

    @validator("status")
    def _status(cls, value: str) -> str:
        if value not in ORDER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        return value

    @validator("listing_kind")
    def _listing(cls, value: str) -> str:
        if value not in LISTING_KINDS:
            raise ValueError(f"listing_kind must be one of {', '.join(LISTING_KINDS)}")
        return value

    @validator("items")
    def _items(cls, value: List[ItemFixture]) -> List[ItemFixture]:
        if not value:
            raise ValueError("an order needs at least one item")
        return value

    @root_validator(skip_on_failure=True)
    def _one_parcel_description(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        shorthand = [k for k in ("courier", "signed_at", "signed_date_only", "signed_by") if values.get(k) is not None]
        if values.get("shipment") is not None and shorthand:
            raise ValueError(f"write {', '.join(shorthand)} inside shipment, or drop shipment (not both)")
        return values

    def parcel(self) -> Optional[ShipmentFixture]:
        """The order's shipment: the explicit one, the shorthand, or a default for a shipped/signed order."""
        if self.shipment is not None:
            return self.shipment
        if self.status in ("unpaid", "paid_unshipped", "closed") and self.signed_at is None:
            return None
        return ShipmentFixture(courier=self.courier or "中通快递", signed_at=self.signed_at,
                               signed_date_only=bool(self.signed_date_only), signed_by=self.signed_by)


class GrantFixture(Strict):
    kind: str
    amount: str
    rule: str = "A1.first_offer"
    state: str = "paid"

    _money = validator("amount", pre=True, allow_reuse=True)(lambda cls, v: check_money(v))

    @validator("kind")
    def _kind(cls, value: str) -> str:
        if value not in LEDGER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LEDGER_KINDS)}")
        return value


class PriorClaimFixture(Strict):
    """An earlier, settled claim of this buyer (counts towards the abuse-risk threshold)."""
    order: str
    intent: str = "damaged"
    days_ago: int = Field(30, ge=0)
    grants: List[GrantFixture]

    @validator("order", pre=True)
    def _order(cls, value: Any) -> str:
        return str(value)


class CatalogPriceFixture(Strict):
    price: str
    since: str = "now-90d"  # when this price started (ISO or relative)

    _money = validator("price", pre=True, allow_reuse=True)(lambda cls, v: check_money(v))
    _time = validator("since", pre=True, allow_reuse=True)(lambda cls, v: check_time(v))


class CatalogFixture(Strict):
    """A listing of the conversation's shop: its price history and service tags (价保30天 …). Price
    protection reads the price it had at the time of each message."""
    sku: str
    title: str = ""
    service_tags: List[str] = []
    prices: List[CatalogPriceFixture]

    @validator("sku", pre=True)
    def _sku(cls, value: Any) -> str:
        return str(value)

    @validator("prices")
    def _prices(cls, value: List[CatalogPriceFixture]) -> List[CatalogPriceFixture]:
        if not value:
            raise ValueError("a listing needs at least one price")
        return value


# ---------------------------------------------------------------------------------------------- turns

class Attachment(Strict):
    type: str = "photo"
    ref: str = ""
    # True: the runner records the photo as uploaded by this buyer (what the widget's upload does), so it
    # counts as evidence; False: a reference to nothing stored, which the bot must drop.
    stored: bool = True


class Turn(Strict):
    user: Optional[str] = None
    button: Optional[str] = None  # press the button of the previous reply whose title contains this text
    attachments: List[Attachment] = []
    now: Optional[str] = None  # the clock from this turn on (time passes inside a conversation)
    # checks
    intent: Optional[str] = None
    bot_contains: List[str] = []
    bot_not_contains: List[str] = []
    bot_matches: List[str] = []
    buttons: Optional[List[str]] = None  # each text is part of some button title; [] = no buttons
    slots: Dict[str, Any] = {}

    _lists = validator("bot_contains", "bot_not_contains", "bot_matches", pre=True, allow_reuse=True)(
        lambda cls, v: [str(x) for x in as_list(v)])
    _time = validator("now", pre=True, allow_reuse=True)(lambda cls, v: None if v is None else check_time(v))

    @validator("user", "button", pre=True)
    def _text(cls, value: Any) -> Optional[str]:
        return None if value is None else str(value)

    @validator("attachments", pre=True)
    def _attachments(cls, value: Any) -> List[Any]:
        # `attachments: [photo]` is shorthand for [{type: photo}]
        return [{"type": item} if isinstance(item, str) else item for item in as_list(value)]

    @validator("bot_matches")
    def _regexes(cls, value: List[str]) -> List[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value

    @root_validator(skip_on_failure=True)
    def _says_something(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if (values.get("user") is None) == (values.get("button") is None):
            raise ValueError("a turn has either `user` (what the buyer types) or `button` (a button to press)")
        return values


# ---------------------------------------------------------------------------------------------- expectations

class LedgerExpectation(Strict):
    kind: str
    amount: Optional[str] = None
    state: Optional[str] = None
    rule: Optional[str] = None

    _money = validator("amount", pre=True, allow_reuse=True)(lambda cls, v: None if v is None else check_money(v))

    @validator("kind")
    def _kind(cls, value: str) -> str:
        if value not in LEDGER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LEDGER_KINDS)}")
        return value

    @validator("state")
    def _state(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in LEDGER_STATES:
            raise ValueError(f"state must be one of {', '.join(LEDGER_STATES)}")
        return value

    def matches(self, row: Dict[str, str]) -> bool:
        return all(expected is None or row.get(key) == expected
                   for key, expected in (("kind", self.kind), ("amount", self.amount),
                                         ("state", self.state), ("rule", self.rule)))

    def describe(self) -> str:
        return "{" + ", ".join(f"{k}: {v}" for k, v in self.dict().items() if v is not None) + "}"


class InvoiceExpectation(Strict):
    title: Optional[str] = None
    tax_number: Optional[str] = None
    kind: Optional[str] = None


class SatisfactionExpectation(Strict):
    """One stored satisfaction survey: `rating` null = asked, not answered yet."""
    rating: Optional[str] = None
    comment: Optional[str] = None
    intent: Optional[str] = None
    resolution_kind: Optional[str] = None
    resolver: Optional[str] = None  # bot, agent


class Expect(Strict):
    ledger: Optional[List[LedgerExpectation]] = None  # exactly these rows (any order); [] = nothing granted
    handoff: Optional[bool] = None
    handoff_reason: Optional[str] = None  # text contained in the hand-off's reason
    invoice_requests: Optional[List[InvoiceExpectation]] = None
    case_status: Optional[str] = None  # status of the conversation's latest case (offered, resolved, ...)
    satisfaction: Optional[List[SatisfactionExpectation]] = None  # exactly these surveys, in order; [] = never asked
    slots: Dict[str, Any] = {}  # slot values at the end of the conversation


class Conversation(Strict):
    name: str
    now: Optional[str] = None
    shop: Optional[str] = None  # "demo": the demo shop of bot/db/seed.py instead of (or besides) `orders`
    buyer: BuyerFixture
    orders: List[OrderFixture] = []
    prior_claims: List[PriorClaimFixture] = []
    catalog: List[CatalogFixture] = []  # the shop's listings (price protection reads their prices)
    tags: List[str] = []  # free labels (rule ids, intents) for coverage reports
    xfail: Optional[str] = None  # a known problem (why): a difference is reported as XFAIL, not a failure
    turns: List[Turn]
    expect: Expect = Expect()

    _time = validator("now", pre=True, allow_reuse=True)(lambda cls, v: None if v is None else check_time(v))

    @validator("name", pre=True)
    def _name(cls, value: Any) -> str:
        return str(value)

    @validator("shop")
    def _shop(cls, value: Optional[str]) -> Optional[str]:
        if value not in (None, "demo"):
            raise ValueError("shop is either absent (the conversation's own orders) or demo")
        return value

    @validator("turns")
    def _turns(cls, value: List[Turn]) -> List[Turn]:
        if not value:
            raise ValueError("a conversation needs at least one turn")
        return value

    @root_validator(skip_on_failure=True)
    def _orders_are_known(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        numbers = [order.number for order in values.get("orders", [])]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise ValueError(f"order number written twice: {', '.join(duplicates)}")
        if values.get("shop") is None:
            for claim in values.get("prior_claims", []):
                if claim.order not in numbers:
                    raise ValueError(f"prior claim on order {claim.order}, which is not in orders")
        return values


class Suite(Strict):
    description: str = ""
    conversations: List[Conversation]
