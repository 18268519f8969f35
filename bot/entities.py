"""Shop entities from a buyer's message: order numbers, money amounts, quantities, couriers.

Values come out already normalised: an order number is its digit string, an amount is integer fen,
a quantity is an int, a courier is its canonical short name (顺丰速运 / SF -> 顺丰).

How it works, and why two techniques:

* Couriers are words, so they are matched on **spaCy tokens** (``spacy.blank("zh")`` segmenting with
  jieba, which first loads every user dictionary in ``data/jieba/``) by an EntityRuler. Matching whole
  tokens is what keeps 中通 out of 运输中通知 and 百世 out of 流芳百世.
* Numbers are matched with **regular expressions on the normalised text**: jieba cuts digit runs and
  money expressions unpredictably (``3块5`` -> ``3/块/5``, ``1234 5678`` -> several tokens), so token
  patterns would miss or split them.

Extraction runs on ``bot.text.normalize(text)`` (simplified, half-width); because normalisation keeps
the length, ``start``/``end`` index the caller's original text as well, and ``text`` is the original slice.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator

from bot.money import MoneyError, yuan_to_fen
from bot.numerals import NUMERAL_CHARS, NumeralError, compose_yuan, parse_integer, parse_numeral
from bot.settings import jieba_dict_dir
from bot.text import normalize

logger = logging.getLogger(__name__)

ORDER_NUMBER = "order_number"
AMOUNT = "amount"
QUANTITY = "quantity"
COURIER = "courier"

ORDER_MIN_DIGITS = 10
ORDER_MAX_DIGITS = 24

# ---------------------------------------------------------------------------------------------------
# Couriers: canonical name -> the ways buyers write it. Bare 京东 is deliberately absent: in a shop chat
# it names the platform (在京东买的) far more often than the courier, which buyers call 京东快递/京东物流.
# Bare 天天 ("every day") and bare 菜鸟 ("newbie") are absent for the same reason.
COURIER_ALIASES: dict[str, tuple[str, ...]] = {
    "顺丰": ("顺丰", "顺丰速运", "顺丰快递", "顺丰速递", "顺丰物流", "SF", "SF Express", "顺丰SF"),
    "中通": ("中通", "中通快递", "ZTO"),
    "圆通": ("圆通", "圆通速递", "圆通快递", "YTO"),
    "申通": ("申通", "申通快递", "STO"),
    "韵达": ("韵达", "韵达快递", "韵达速递", "Yunda"),
    "极兔": ("极兔", "极兔速递", "极兔快递", "J&T", "J&T Express"),
    "京东": ("京东快递", "京东物流", "京东配送", "京东快运"),
    "邮政": ("邮政", "中国邮政", "邮政快递", "邮政包裹", "EMS", "邮政EMS", "中国邮政EMS"),
    "德邦": ("德邦", "德邦物流", "德邦快递"),
    "百世": ("百世", "百世快递", "百世汇通", "汇通快递"),
    "菜鸟": ("菜鸟驿站", "菜鸟裹裹", "菜鸟快递", "菜鸟直送"),
    "天天": ("天天快递",),
    "宅急送": ("宅急送",),
    "优速": ("优速快递",),
    "安能": ("安能物流",),
    "跨越": ("跨越速运",),
    "丹鸟": ("丹鸟",),
}

# ---------------------------------------------------------------------------------------------------
# Number building blocks (the text is already simplified and half-width).
_CN = NUMERAL_CHARS.replace("俩", "").replace("仨", "").replace("幺", "")  # 俩/仨 are handled on their own
_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NUMBER = rf"(?:{_ARABIC}(?:[十百千万亿][{_CN}\d]*)?|[{_CN}]+(?:点[{_CN}]+)?)"
_INTEGER = rf"(?:\d+(?![\d.,])(?:[十百千万亿][{_CN}\d]*)?|[{_CN}]+)"
_DIGIT = "[0-9零一二两三四五六七八九]"
_NOT_AFTER_NUMBER = r"(?<![\d.])"

_COUNT_UNITS = "个件瓶盒包袋箱双只条支根台套份张本把片罐桶粒颗枚对副卷杯碗组株棵册辆顶盏"

# 13元, 20.5块, 十三块钱, 3块5, 三块五, 一块半, 十块八毛五, 3元5角2分, 12 yuan, 12rmb
_YUAN_RE = re.compile(
    rf"{_NOT_AFTER_NUMBER}(?P<yuan>{_NUMBER})\s?(?P<unit>元|块|圆|yuan\b|rmb\b|cny\b)"
    rf"(?:(?P<jiao>半|{_DIGIT}(?=[毛角])|{_DIGIT}(?![\d{_CN}]|\s?[块元{_COUNT_UNITS}]))"
    rf"(?:[毛角](?P<fen>{_DIGIT}(?![\d{_CN}]))?分?)?)?"
    rf"(?P<qian>钱)?",
    re.IGNORECASE,
)
# ¥20.5, ￥20.50 (normalised to ¥), RMB 12, 人民币十三元
_PREFIXED_RE = re.compile(
    rf"(?:¥|(?<![a-z])rmb|(?<![a-z])cny|人民币)\s?(?P<yuan>{_NUMBER})(?:\s?(?:元|块)钱?)?",
    re.IGNORECASE,
)
# 5毛, 五毛钱, 5角, 3毛5; 角 alone is also "corner"/"triangle" (三角), so it needs 钱 or Arabic digits.
_JIAO_RE = re.compile(
    rf"{_NOT_AFTER_NUMBER}(?P<jiao>{_DIGIT})\s?(?:毛(?![衣巾绒线毯笔病发刺料孔边球])|角(?=钱)|(?<=\d)角)"
    rf"(?P<fen>{_DIGIT}(?![\d{_CN}]))?分?(?P<qian>钱)?"
)
# 5分钱 (分 alone is also points / minutes)
_FEN_RE = re.compile(rf"{_NOT_AFTER_NUMBER}(?P<fen>{_DIGIT})分钱")
# 差价30, 赔偿金额:20, 这款卖299: a bare number right after a money word. Not 退3件 (a count follows),
# not 满199减20 (no money word), not 运费险7天 (a time unit follows).
_MONEY_WORD_RE = re.compile(
    rf"(?:差价|金额|价格|价钱|售价|单价|总价|运费|邮费|退款|赔偿|补偿|赔我|退我|补我|返我|卖|付了|花了|实付)"
    rf"\s?[:是为了]?\s?(?P<yuan>{_ARABIC}|[{_CN}]+)"
    rf"(?![\d.,%{_CN}]|\s?[{_COUNT_UNITS}天年月日周号次折倍期分秒块元毛角])"
)

# 3件, 少了两个, 一瓶; not 第3件 (an ordinal) and not ranges like 两三个 (parse_integer refuses those).
_QUANTITY_RE = re.compile(rf"(?<![第\d.])(?P<number>{_INTEGER})\s?(?P<unit>[{_COUNT_UNITS}])")
_QUANTITY_EN_RE = re.compile(r"(?<![\w.])(?P<number>\d+)\s?(?P<unit>pcs|pc|pieces|piece|items|item|units)\b", re.I)
_QUANTITY_TIMES_RE = re.compile(r"(?<![a-z0-9])[x×*]\s?(?P<number>\d{1,4})(?![\d.])", re.I)
_QUANTITY_LABEL_RE = re.compile(rf"(?:数量|件数|个数)\s?[:是为]?\s?(?P<number>{_INTEGER})")
_QUANTITY_COLLOQUIAL_RE = re.compile(rf"(?<![我你他她们咱])(?P<number>[俩仨])(?![{_CN}\d])")

# A counted noun that turns a quantity match into something else: 3个月 is a duration, 一件事 an affair.
_NOT_A_COUNT_AFTER = {
    "个": ("月", "多月", "小时", "钟头", "钟", "工作日", "星期", "礼拜", "问题", "事", "疑问", "建议", "情况", "人工", "客服",
           "订单", "单子"),
    "件": ("事",),
    "张": ("照片", "图", "截图", "单"),
    "把": ("握",),
    "对": ("不起", "吧", "吗", "的"),
    "本": ("来", "人", "身"),
    "片": ("刻",),
    "包": ("政策", "服务", "期", "卡", "凭证", "规定", "条例"),  # 三包政策: the statutory warranty
}

# 块 is both yuan and "piece" (一块蛋糕). Context decides; money is the default in an after-sales chat.
_PIECES_BEFORE = re.compile(r"(?:少了|缺了|碎了|坏了|破了|裂了|烂了|漏了|丢了|掉了|少发了?|漏发了?|少寄了?)\s?$")
_MONEY_BEFORE = re.compile(r"(?:赔|退|补|返|给|付|花|贵|便宜|差价|运费|优惠|红包|价|钱|费|金额|多少)\S{0,3}$")
_MONEY_FOLLOWERS = set("钱的了吗呢吧啊呀哦嘛哈么就都也还运补红差多左以怎行可我你他她给赔退作当是不没到太而才又能够呗")

# Order numbers. The nearest keyword before a number says what it is; 订单号码 must read as an order
# keyword, not as 号码 (phone), and 快递单号 as a tracking number, not as 单号: longest alternatives first.
_KEYWORD_RE = re.compile(
    r"(?P<tracking>快递单号|运单号|物流单号|快递号|物流号|运单|tracking)"
    r"|(?P<order>订单号码|订单编号|订单号|订单|单号|order|编号|#)"
    r"|(?P<phone>电话号码|手机号码|手机号|电话|手机|联系方式|致电|拨打|微信|tel|phone|mobile|号码|\+86)",
    re.IGNORECASE,
)
_KEYWORD_WINDOW = 16
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_ORDER_GLUE_WORDS = ("order", "no", "id")
_DIGIT_RUN_RE = re.compile(r"\d+")
_UNIT_AFTER_RE = re.compile(rf"\s?(?:[元块毛角分{_COUNT_UNITS}]|yuan\b|rmb\b|pcs\b)", re.IGNORECASE)


@dataclass(frozen=True)
class _Candidate:
    entity: str
    value: Any
    start: int
    end: int
    extra: tuple[tuple[str, Any], ...] = ()

    def overlaps(self, other: "_Candidate") -> bool:
        return self.start < other.end and other.start < self.end


# ---------------------------------------------------------------------------------------------------
# The spaCy pipeline (built once).


def load_jieba_user_dictionaries(directory: Path | None = None) -> list[Path]:
    """Load every file in data/jieba/ into jieba's global dictionary (as Rasa's JiebaTokenizer does)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    directory = directory or jieba_dict_dir()
    loaded = []
    for path in sorted(p for p in directory.glob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            jieba.load_userdict(str(path))
        except ValueError as error:
            raise ValueError(f"bad jieba user dictionary {path}: {error}") from error
        loaded.append(path)
    return loaded


def courier_patterns() -> list[dict[str, str]]:
    """EntityRuler phrase patterns, one per alias, with the canonical name as the pattern id."""
    return [
        {"label": COURIER, "pattern": alias, "id": canonical}
        for canonical, aliases in COURIER_ALIASES.items()
        for alias in aliases
    ]


@functools.lru_cache(maxsize=1)
def nlp() -> Any:
    """spacy.blank('zh') with the jieba segmenter and the courier EntityRuler. Built on first use."""
    import spacy

    load_jieba_user_dictionaries()
    pipeline = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    # LOWER: SF, sf and Sf are the same courier; Chinese has no case, so it is unaffected.
    ruler = pipeline.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(courier_patterns())
    return pipeline


def warm_up() -> None:
    """Build the pipeline now (a couple of seconds) rather than on the first buyer message."""
    nlp()
    extract_entities("预热 订单号1234567890 顺丰 13元 两个")


# ---------------------------------------------------------------------------------------------------
# Public entry point.


def extract_entities(text: str) -> list[dict[str, Any]]:
    """All shop entities in ``text`` as dicts {entity, value, start, end, text[, unit]}, in text order.

    Overlaps are resolved by priority: an order number beats an amount, which beats a quantity.
    """
    if not text or not text.strip():
        return []
    normalised = normalize(text)
    chosen: list[_Candidate] = []
    for group in (_order_numbers(normalised), _amounts_and_pieces(normalised), _quantities(normalised),
                  _couriers(normalised)):
        for candidate in sorted(group, key=lambda c: (c.start, -(c.end - c.start))):
            if not any(candidate.overlaps(taken) for taken in chosen):
                chosen.append(candidate)
    chosen.sort(key=lambda c: c.start)
    return [_as_dict(c, text) for c in chosen]


def _as_dict(candidate: _Candidate, original_text: str) -> dict[str, Any]:
    result = {
        "entity": candidate.entity,
        "value": candidate.value,
        "start": candidate.start,
        "end": candidate.end,
        "text": original_text[candidate.start:candidate.end],
    }
    result.update(dict(candidate.extra))
    return result


# ---------------------------------------------------------------------------------------------------
# Order numbers.


def _digit_groups(text: str) -> Iterator[tuple[int, int, str]]:
    """Digit runs, with human-typed groupings joined: '2024 0601 1234 5678', '240601-123456789012345'.

    A dash joins runs of 3+ digits (dates like 2024-06-01 have 2-digit parts and stay apart); a single
    space joins runs of 3-8 digits only, so two full numbers written side by side stay two numbers.
    A run followed by a unit (300元, 3件) is never swallowed into a number before it.
    """
    runs = list(_DIGIT_RUN_RE.finditer(text))
    i = 0
    while i < len(runs):
        start, end, digits = runs[i].start(), runs[i].end(), runs[i].group()
        j = i + 1
        while j < len(runs) and _joins(text, runs[j - 1], runs[j]):
            end, digits = runs[j].end(), digits + runs[j].group()
            j += 1
        yield start, end, digits
        i = j


def _joins(text: str, left: re.Match, right: re.Match) -> bool:
    """Whether two neighbouring digit runs are parts of one human-grouped number."""
    gap = text[left.end():right.start()]
    left_len, right_len = len(left.group()), len(right.group())
    if gap == "-":
        grouped = left_len >= 3 and right_len >= 3
    elif gap == " ":
        grouped = 3 <= left_len <= 8 and 3 <= right_len <= 8
    else:
        grouped = False
    return grouped and not _UNIT_AFTER_RE.match(text, right.end()) and not _is_decimal_part(
        text, right.start(), right.end()
    )


def _is_decimal_part(text: str, start: int, end: int) -> bool:
    """True when the digits at [start, end) belong to a decimal such as 20.5."""
    before = text[start - 2:start] if start >= 2 else ""
    return (len(before) == 2 and before[1] == "." and before[0].isdigit()) or (
        text[end:end + 1] == "." and text[end + 1:end + 2].isdigit()
    )


def _nearest_keyword(text: str, start: int) -> str | None:
    """'order', 'phone' or 'tracking': the kind of the last keyword in the few characters before start."""
    window = text[max(0, start - _KEYWORD_WINDOW):start]
    last = None
    for match in _KEYWORD_RE.finditer(window):
        last = match
    return last.lastgroup if last else None


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    """SF1234567890123 is a waybill, 1234567890abc is a code; order1234567890 is still an order number."""
    if text[end:end + 1].isascii() and text[end:end + 1].isalpha():
        return True
    if start and text[start - 1].isascii() and text[start - 1].isalpha():
        word = re.search(r"[A-Za-z]+$", text[:start]).group().lower()  # type: ignore[union-attr]
        return not word.endswith(_ORDER_GLUE_WORDS)
    return False


def _order_numbers(text: str) -> Iterator[_Candidate]:
    for start, end, digits in _digit_groups(text):
        if not ORDER_MIN_DIGITS <= len(digits) <= ORDER_MAX_DIGITS:
            continue
        if _is_decimal_part(text, start, end) or _glued_to_letters(text, start, end):
            continue
        if _UNIT_AFTER_RE.match(text, end):
            continue  # 12345678901元 is neither a plausible amount nor an order number
        keyword = _nearest_keyword(text, start)
        if keyword == "tracking":
            continue
        looks_like_mobile = bool(_MOBILE_RE.fullmatch(digits))
        if keyword == "phone" and looks_like_mobile or keyword is None and looks_like_mobile:
            continue  # a mobile number, unless the buyer said it is an order number
        yield _Candidate(ORDER_NUMBER, digits, start, end)


# ---------------------------------------------------------------------------------------------------
# Amounts (and 块 read as pieces).


def _to_fen(yuan: Decimal) -> int | None:
    try:
        fen = yuan_to_fen(yuan)
    except MoneyError:
        return None  # more precision than a fen (20.555元): not an exact amount, say nothing
    return fen if fen > 0 else None


def _amounts_and_pieces(text: str) -> Iterator[_Candidate]:
    for match in _YUAN_RE.finditer(text):
        yield from _yuan_match(text, match)
    for match in _PREFIXED_RE.finditer(text):
        candidate = _money_candidate(match, match.group("yuan"))
        if candidate:
            yield candidate
    for match in _MONEY_WORD_RE.finditer(text):
        candidate = _money_candidate(match, match.group("yuan"), start=match.start("yuan"))
        if candidate:
            yield candidate
    for match in _JIAO_RE.finditer(text):
        candidate = _money_candidate(match, None, match.group("jiao"), match.group("fen"))
        if candidate:
            yield candidate
    for match in _FEN_RE.finditer(text):
        candidate = _money_candidate(match, None, None, match.group("fen"))
        if candidate:
            yield candidate


def _money_candidate(match: re.Match, yuan: str | None, jiao: str | None = None,
                     fen: str | None = None, start: int | None = None) -> _Candidate | None:
    try:
        amount = compose_yuan(yuan, jiao, fen)
    except NumeralError:
        return None
    fen_value = _to_fen(amount)
    if fen_value is None:
        return None
    return _Candidate(AMOUNT, fen_value, match.start() if start is None else start, match.end())


def _yuan_match(text: str, match: re.Match) -> Iterator[_Candidate]:
    yuan, unit = match.group("yuan"), match.group("unit")
    if len(re.sub(r"\D", "", yuan.split(".")[0])) > 8:
        return  # a long digit run before 元 is not a price anyone types
    plain_kuai = unit == "块" and not (match.group("jiao") or match.group("qian") or "." in yuan)
    if plain_kuai:
        reading = _read_plain_kuai(text, match)
        if reading == "none":
            return
        if reading == "pieces":
            count = _safe_integer(yuan)
            if count:
                end = match.start("unit") + 1
                yield _Candidate(QUANTITY, count, match.start(), end, (("unit", "块"),))
            return
    candidate = _money_candidate(match, yuan, match.group("jiao"), match.group("fen"))
    if candidate:
        yield candidate


def _read_plain_kuai(text: str, match: re.Match) -> str:
    """'money', 'pieces' or 'none' (一块儿 = together) for a bare N块 with no 钱 and no jiao part."""
    after = text[match.end("unit"):match.end("unit") + 1]
    if after == "儿":
        return "none"
    before = text[max(0, match.start() - 6):match.start()]
    if _MONEY_BEFORE.search(before):
        return "money"
    if _PIECES_BEFORE.search(before):
        return "pieces"
    if after and "\u4e00" <= after <= "\u9fff" and after not in _MONEY_FOLLOWERS:
        return "pieces"  # 一块蛋糕, 两块肥皂: a counted noun follows
    return "money"


# ---------------------------------------------------------------------------------------------------
# Quantities.


def _safe_integer(text: str) -> int | None:
    try:
        value = parse_integer(text)
    except NumeralError:
        return None
    return value if value > 0 else None


def _counted_noun_says_not_a_count(text: str, unit: str, end: int) -> bool:
    return any(text.startswith(word, end) for word in _NOT_A_COUNT_AFTER.get(unit, ()))


def _quantities(text: str) -> Iterator[_Candidate]:
    for match in _QUANTITY_RE.finditer(text):
        unit = match.group("unit")
        if _counted_noun_says_not_a_count(text, unit, match.end()):
            continue
        count = _safe_integer(match.group("number"))
        if count:
            yield _Candidate(QUANTITY, count, match.start(), match.end(), (("unit", unit),))
    for regex in (_QUANTITY_EN_RE, _QUANTITY_TIMES_RE, _QUANTITY_LABEL_RE, _QUANTITY_COLLOQUIAL_RE):
        for match in regex.finditer(text):
            count = _safe_integer(match.group("number"))
            if count:
                unit = match.groupdict().get("unit")
                extra = (("unit", unit.lower() if unit.isascii() else unit),) if unit else ()
                yield _Candidate(QUANTITY, count, match.start(), match.end(), extra)


# ---------------------------------------------------------------------------------------------------
# Couriers.


def _couriers(text: str) -> Iterable[_Candidate]:
    doc = nlp()(text)
    return [_Candidate(COURIER, ent.ent_id_ or ent.text, ent.start_char, ent.end_char)
            for ent in doc.ents if ent.label_ == COURIER]
