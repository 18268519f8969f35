"""Value types shared by the pack schema and the case model (pydantic v1 custom types).

Money enters as yuan (decimal string or integer) and is stored as integer fen, so nothing downstream
ever sees a float. A float is refused with a message that says how to write the amount instead.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterator

from bot.money import MoneyError, yuan_to_fen


class YuanFen(int):
    """A yuan amount given as '10.50' or 13, validated and stored as integer fen (1050, 1300)."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], int]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> int:
        if isinstance(value, float):
            raise ValueError(f'money must be a quoted decimal string such as "{value:.2f}", not a float')
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValueError("value is not a valid decimal")
        try:
            Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("value is not a valid decimal") from None
        try:
            fen = yuan_to_fen(value)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        if fen < 0:
            raise ValueError("amount must not be negative")
        return fen


class Percent(Decimal):
    """A percentage 0-100 given as a number or a decimal string; floats are allowed only if exact."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], Decimal]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise ValueError("value is not a valid percent")
        try:
            pct = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("value is not a valid percent") from None
        if not pct.is_finite() or not Decimal(0) <= pct <= Decimal(100):
            raise ValueError("percent must be between 0 and 100")
        return pct


# The after-sales intents of the contract (ARCHITECTURE.md); conversation intents never reach the engine.
AFTER_SALES_INTENTS = (
    "damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item", "not_received",
    "delivery_status", "late_shipment", "counterfeit", "not_as_described", "no_reason_return",
    "cancel_order", "refund_status", "invoice", "price_protection", "repair_warranty", "shipping_fee",
    "request_compensation",
)
