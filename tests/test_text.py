"""bot.text.normalize (length-preserving) and bot.numerals (exact Chinese numerals)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from bot.numerals import NumeralError, compose_yuan, parse_integer, parse_numeral
from bot.text import normalize, to_simplified


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("訂單號碼", "订单号码"),
        ("退貨退款", "退货退款"),
        ("順豐快遞", "顺丰快递"),
        ("頭髮", "头发"),  # phrase-level: 髮 -> 发
        ("一目瞭然", "一目了然"),  # phrase-level: 瞭 -> 了 only inside the phrase
        ("少了兩個，退我十三塊錢", "少了两个,退我十三块钱"),
        ("简体不变", "简体不变"),
    ],
)
def test_traditional_becomes_simplified(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("１２３４５", "12345"),
        ("ＡＢＣｘｙｚ", "ABCxyz"),
        ("￥２０．５０", "¥20.50"),
        ("订单号：１２３", "订单号:123"),
        ("（７件）！？", "(7件)!?"),
    ],
)
def test_fullwidth_becomes_halfwidth(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a\tb", "a b"),
        ("a\u3000b", "a b"),  # ideographic space
        ("a\u00a0b", "a b"),  # no-break space
        ("a\r\nb", "a  b"),  # two characters in, two spaces out: never collapsed
        ("  前后  ", "  前后  "),  # never stripped
        ("a\u200bb", "a b"),  # zero-width space pasted from web pages
    ],
)
def test_whitespace_is_plain_spaces_without_changing_length(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_emoji_and_astral_characters_pass_through() -> None:
    text = "😭订单１２３😭𠀀"
    assert normalize(text) == "😭订单123😭𠀀"
    assert len(normalize(text)) == len(text)


def test_empty_and_ascii() -> None:
    assert normalize("") == ""
    assert normalize("hello 123") == "hello 123"


def test_normalize_is_idempotent_on_a_typical_message() -> None:
    once = normalize("訂單號：１２３４５６７８９０　退貨￥２０")
    assert normalize(once) == once


def test_to_simplified_falls_back_per_character_when_a_phrase_changes_length(monkeypatch) -> None:
    """If OpenCC ever maps a phrase to a different length, the chunk is converted character by character."""
    import bot.text as text_module

    class LengthChangingConverter:
        def convert(self, s: str) -> str:
            if len(s) == 1:
                return {"髮": "发", "頭": "头"}.get(s, s)
            return s + "X"  # a phrase conversion that would shift offsets

    monkeypatch.setattr(text_module, "_t2s_converter", lambda: LengthChangingConverter())
    assert to_simplified("頭髮 abc") == "头发 abc"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_never_changes_length(text: str) -> None:
    assert len(normalize(text)) == len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=30))
def test_normalize_never_changes_length_of_cjk(text: str) -> None:
    assert len(normalize(text)) == len(text)


# --- numerals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("两", "2"), ("二", "2"), ("俩", "2"), ("仨", "3"),
        ("十", "10"), ("十三", "13"), ("二十", "20"), ("二十五", "25"),
        ("一百零五", "105"), ("一百二十", "120"), ("一百二", "120"), ("两百五", "250"),
        ("一千二", "1200"), ("一千零二", "1002"), ("一千零二十", "1020"),
        ("一万二", "12000"), ("两万五千", "25000"), ("一万零五", "10005"), ("十万", "100000"),
        ("三亿五千万", "350000000"), ("一万亿", "1000000000000"),
        ("壹佰贰拾", "120"), ("零", "0"),
        ("1万", "10000"), ("1.5万", "15000"), ("3千5", "3500"), ("1万2", "12000"),
        ("12", "12"), ("3.5", "3.5"), ("1,299.50", "1299.50"),
        ("二点五", "2.5"), ("十二点零五", "12.05"), ("半", "0.5"),
    ],
)
def test_parse_numeral(text: str, expected: str) -> None:
    value = parse_numeral(text)
    assert isinstance(value, Decimal)
    assert value == Decimal(expected)


@pytest.mark.parametrize("text", ["", "两三", "三四十", "二零二四", "万", "十十", "abc", "1,29", "3.", "点五"])
def test_parse_numeral_refuses_junk_and_ranges(text: str) -> None:
    with pytest.raises(NumeralError):
        parse_numeral(text)


def test_parse_integer_refuses_fractions() -> None:
    assert parse_integer("二十五") == 25
    with pytest.raises(NumeralError):
        parse_integer("半")
    with pytest.raises(NumeralError):
        parse_integer("1.5")


@pytest.mark.parametrize(
    "yuan, jiao, fen, expected",
    [
        ("一", "半", None, "1.5"),  # 一块半
        ("3", "5", None, "3.5"),  # 3块5
        ("三", "五", None, "3.5"),  # 三块五
        ("十", "八", None, "10.8"),  # 十块八毛
        ("十", "八", "五", "10.85"),  # 十块八毛五
        (None, "5", None, "0.5"),  # 5毛
        (None, None, "5", "0.05"),  # 5分钱
        ("两", None, None, "2"),  # 两块钱
    ],
)
def test_compose_yuan(yuan, jiao, fen, expected) -> None:
    assert compose_yuan(yuan, jiao, fen) == Decimal(expected)


def test_compose_yuan_refuses_a_multi_digit_jiao() -> None:
    with pytest.raises(NumeralError):
        compose_yuan("3", "十二")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=99_999_999))
def test_numeral_round_trip_through_chinese(number: int) -> None:
    assert parse_numeral(_to_chinese(number)) == number


def _to_chinese(number: int) -> str:
    """A plain formal Chinese rendering (一千零五十万零三) used to check the parser on any integer."""
    digits = "零一二三四五六七八九"

    def below_10000(n: int) -> str:
        out, zero_pending = "", False
        for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = n // unit_value % 10
            if d:
                if zero_pending and out:
                    out += "零"
                out += digits[d] + unit
                zero_pending = False
            else:
                zero_pending = True
        return out

    high, low = divmod(number, 10_000)
    if not high:
        return below_10000(low)
    text = below_10000(high) + "万"
    if low:
        text += ("零" if low < 1000 else "") + below_10000(low)
    return text
