"""Money is exact: integer fen everywhere inside, Decimal yuan strings at the edges. Never floats."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

FEN_PER_YUAN = 100


class MoneyError(ValueError):
    """A value that is not an exact amount of money (a float, junk text, sub-fen precision)."""


def yuan_to_fen(value: str | int | Decimal) -> int:
    """'10.50' -> 1050, 13 -> 1300, Decimal('0.1') -> 10. Refuses floats and more than two decimals."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"amount must be a decimal string or an integer, not {type(value).__name__}: {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError(f"not an amount of money: {value!r}") from None
    if not d.is_finite():
        raise MoneyError(f"not an amount of money: {value!r}")
    fen = d * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyError(f"amount has more precision than one fen: {value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """1050 -> '10.50'; the canonical string for JSON and the ledger."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise MoneyError(f"fen must be an int, not {type(fen).__name__}: {fen!r}")
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def fen_to_display(fen: int) -> str:
    """1050 -> '10.5', 200 -> '2', 1055 -> '10.55': how an amount reads in a Chinese reply (赔偿2元)."""
    text = fen_to_yuan(fen)
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent_of(fen: int, percent: int | Decimal) -> int:
    """A percentage of an amount, rounded half-up to the fen (30% of 1055 fen -> 317 fen)."""
    return int((Decimal(fen) * Decimal(str(percent)) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
