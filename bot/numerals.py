"""Chinese numerals and spoken money amounts -> exact numbers (int / Decimal, never float).

Handles what buyers type: 两/二/俩, 十三, 二十五, 一百零五, the colloquial 一千二 (= 1200) and 一万二 (= 12000),
financial digits (壹贰叁), Arabic digits mixed with units (1万, 1.5万, 3千5), decimals (二点五, 3.5) and 半;
and money spoken as 一块半, 三块五, 3块5, 十块八毛五, 5毛 through :func:`compose_yuan`.

Ranges such as 两三 ("two or three") are refused rather than read as 23.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0,
    "一": 1, "壹": 1, "幺": 1,
    "二": 2, "两": 2, "贰": 2, "俩": 2,
    "三": 3, "叁": 3, "仨": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
LARGE_UNITS: dict[str, int] = {"万": 10_000, "亿": 100_000_000}

#: Every character that can be part of a Chinese numeral (for building regexes elsewhere).
NUMERAL_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(LARGE_UNITS)

HALF = Decimal("0.5")


class NumeralError(ValueError):
    """Text that is not one exact number (junk, or a vague range like 两三)."""


def _tokenize(text: str) -> list[tuple[str, Decimal]]:
    """Split into ('num', value) for Chinese digits or Arabic runs and ('small'|'large', unit) for units."""
    tokens: list[tuple[str, Decimal]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isascii() and (ch.isdigit() or ch == "."):
            j = i
            while j < len(text) and text[j].isascii() and (text[j].isdigit() or text[j] in ".,"):
                j += 1
            tokens.append(("num", _parse_arabic(text[i:j])))
            i = j
            continue
        if ch in DIGITS:
            tokens.append(("num", Decimal(DIGITS[ch])))
        elif ch in SMALL_UNITS:
            tokens.append(("small", Decimal(SMALL_UNITS[ch])))
        elif ch in LARGE_UNITS:
            tokens.append(("large", Decimal(LARGE_UNITS[ch])))
        else:
            raise NumeralError(f"not a numeral character {ch!r} in {text!r}")
        i += 1
    return tokens


def _parse_arabic(text: str) -> Decimal:
    """'1,299.50' -> Decimal('1299.50'); thousands separators must come in groups of three."""
    head, _, tail = text.partition(".")
    groups = head.split(",")
    if any(not g.isdigit() for g in groups) or any(len(g) != 3 for g in groups[1:]):
        raise NumeralError(f"not a number: {text!r}")
    if tail and not tail.isdigit() or text.endswith("."):
        raise NumeralError(f"not a number: {text!r}")
    try:
        return Decimal("".join(groups) + ("." + tail if tail else ""))
    except InvalidOperation:  # pragma: no cover - the checks above leave only valid literals
        raise NumeralError(f"not a number: {text!r}") from None


def _is_zero_digit(token: tuple[str, Decimal]) -> bool:
    return token[0] == "num" and token[1] == 0


def parse_numeral(text: str) -> Decimal:
    """A Chinese, Arabic or mixed numeral -> Decimal. '十三' -> 13, '一千二' -> 1200, '1.5万' -> 15000.

    Raises NumeralError for anything else, including ranges like '两三' or '三四十'.
    """
    text = text.strip()
    if not text:
        raise NumeralError("empty numeral")
    if text == "半":
        return HALF
    if "点" in text:
        return _parse_spoken_decimal(text)
    tokens = _tokenize(text)
    total = Decimal(0)  # value of completed 万/亿 sections
    section = Decimal(0)  # value inside the current section (below 万)
    pending: Decimal | None = None  # a digit waiting for its unit
    last_unit = Decimal(0)  # most recent unit, for the colloquial omission in 一千二
    last_large_unit = Decimal(0)  # most recent 万/亿, to tell 三亿五千万 from 一万亿
    after_zero = False
    previous: tuple[str, Decimal] = ("", Decimal(0))
    for kind, value in tokens:
        previous_kind = previous[0]
        if kind == "num":
            if previous_kind == "num" and not _is_zero_digit(previous):
                raise NumeralError(f"adjacent digits (a range?) in {text!r}")
            if value == 0:
                after_zero = True  # 一百零五: the 五 after 零 counts as ones, not as 五十
            else:
                pending = value
        elif kind == "small":
            if previous_kind == "small":
                raise NumeralError(f"two units in a row in {text!r}")
            # 十三 starts with a bare 十: one ten.
            section += (pending if pending is not None else Decimal(1)) * value
            pending, last_unit, after_zero = None, value, False
        else:  # 万 / 亿
            if pending is not None:
                section += pending
            if section == 0 and total == 0:
                raise NumeralError(f"unit without a number in {text!r}")
            if value > last_large_unit and total:
                total = (total + section) * value  # 一万亿: the 亿 scales everything before it
            else:
                total += section * value
            section, pending, after_zero = Decimal(0), None, False
            last_unit = last_large_unit = value
        previous = (kind, value)
    if pending is not None:
        if last_unit and not after_zero and previous[0] == "num":
            # 一千二 = 1200, 两万五 = 25000, 三十五 = 35: a trailing digit counts in the next lower unit.
            pending *= last_unit / 10
        section += pending
    return total + section


def _parse_spoken_decimal(text: str) -> Decimal:
    """'二点五' -> 2.5, '十二点零五' -> 12.05: integer part as a numeral, fraction read digit by digit."""
    whole, _, fraction = text.partition("点")
    if not whole or not fraction or "点" in fraction:
        raise NumeralError(f"not a decimal: {text!r}")
    digits = []
    for ch in fraction:
        if ch in DIGITS:
            digits.append(str(DIGITS[ch]))
        elif ch.isascii() and ch.isdigit():
            digits.append(ch)
        else:
            raise NumeralError(f"not a decimal: {text!r}")
    return parse_numeral(whole) + Decimal("0." + "".join(digits))


def parse_integer(text: str) -> int:
    """Like parse_numeral but only whole numbers: '两' -> 2, '二十五' -> 25; '半' or '1.5' raise."""
    value = parse_numeral(text)
    if value != value.to_integral_value():
        raise NumeralError(f"not a whole number: {text!r}")
    return int(value)


def compose_yuan(yuan: str | None, jiao: str | None = None, fen: str | None = None) -> Decimal:
    """Money spoken in parts -> Decimal yuan.

    compose_yuan('一', '半') -> 1.5 (一块半); compose_yuan('3', '5') -> 3.5 (3块5);
    compose_yuan('十', '八', '五') -> 10.85 (十块八毛五); compose_yuan(None, '5') -> 0.5 (5毛).
    A jiao or fen part must be a single digit 0-9 (or 半 for jiao).
    """
    amount = parse_numeral(yuan) if yuan else Decimal(0)
    if jiao:
        amount += HALF if jiao == "半" else Decimal(_single_digit(jiao)) / 10
    if fen:
        amount += Decimal(_single_digit(fen)) / 100
    return amount


def _single_digit(text: str) -> int:
    value = parse_numeral(text)
    if value != value.to_integral_value() or not 0 <= value <= 9:
        raise NumeralError(f"jiao and fen parts are one digit, not {text!r}")
    return int(value)
