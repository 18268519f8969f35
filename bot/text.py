"""Length-preserving normalisation of buyers' Chinese text.

Buyers write in simplified or traditional characters, type digits on a full-width keyboard
(``１２３``, ``￥``) and paste text with odd whitespace (tabs, no-break spaces, ideographic spaces).
``normalize`` maps all of that onto one form so the tokenizer, the classifiers and the entity
rules see a single spelling.

It never changes the number of characters: entity offsets found in the normalised text are
valid offsets in the buyer's original text as well, so Rasa can report the original span.
"""
from __future__ import annotations

import functools
import re

from opencc import OpenCC

# Full-width forms of printable ASCII ('！' U+FF01 .. '～' U+FF5E) sit at a fixed offset from ASCII.
_FULLWIDTH_FIRST = 0xFF01
_FULLWIDTH_LAST = 0xFF5E
_FULLWIDTH_OFFSET = 0xFEE0

# Full-width signs outside that block that matter for money and punctuation.
_EXTRA_HALFWIDTH = {
    "￥": "¥",  # U+FFE5 fullwidth yen sign: how most Chinese keyboards type the yuan sign
    "￠": "¢",
    "￡": "£",
    "￦": "₩",
}

# Invisible separators that are not str.isspace() but act as word breaks when pasted.
_INVISIBLE_SEPARATORS = "\u200b\ufeff\u2060"

# OpenCC splits its input at these characters itself; splitting here too keeps chunks short.
_CHUNK_RE = re.compile(r"([\s\W]+)")


def _build_halfwidth_table() -> dict[int, str]:
    table = {code: chr(code - _FULLWIDTH_OFFSET) for code in range(_FULLWIDTH_FIRST, _FULLWIDTH_LAST + 1)}
    table.update({ord(k): v for k, v in _EXTRA_HALFWIDTH.items()})
    table.update({ord(ch): " " for ch in _INVISIBLE_SEPARATORS})
    return table


_HALFWIDTH_TABLE = _build_halfwidth_table()


@functools.lru_cache(maxsize=1)
def _t2s_converter() -> OpenCC:
    """The traditional -> simplified converter, built and its dictionaries loaded once per process."""
    converter = OpenCC("t2s")
    converter.convert("預熱")  # the dictionaries load lazily on the first conversion; do it now
    return converter


def warm_up() -> None:
    """Load the conversion dictionaries now (about a second) instead of on the first buyer message."""
    _t2s_converter()


def _convert_chars_one_by_one(chunk: str) -> str:
    """Character-wise t2s; a character whose conversion is not exactly one character stays as it is."""
    converter = _t2s_converter()
    out = []
    for ch in chunk:
        converted = converter.convert(ch)
        out.append(converted if len(converted) == 1 else ch)
    return "".join(out)


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese, phrase-aware where that keeps the length, else per character.

    OpenCC's t2s tables map every entry to a string of the same length today, but the result is checked
    chunk by chunk anyway: a length change would silently shift every entity offset after it.
    """
    if text.isascii():
        return text
    converter = _t2s_converter()
    parts = _CHUNK_RE.split(text)
    for i, part in enumerate(parts):
        if not part or part.isascii():
            continue
        converted = converter.convert(part)
        parts[i] = converted if len(converted) == len(part) else _convert_chars_one_by_one(part)
    return "".join(parts)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII (digits, letters, punctuation such as '，' and '：') and '￥' -> their half-width forms."""
    return text.translate(_HALFWIDTH_TABLE)


def normalize_whitespace(text: str) -> str:
    """Every whitespace character (tab, newline, no-break space, ideographic space...) -> one ASCII space.

    Runs are NOT collapsed and ends are NOT stripped: that would change the length.
    """
    return "".join(" " if ch.isspace() else ch for ch in text)


def normalize(text: str) -> str:
    """Simplified characters, half-width ASCII, plain spaces; exactly as many characters as ``text``."""
    if not text:
        return text
    # Each step maps one character to one character (to_simplified checks this chunk by chunk).
    return normalize_whitespace(to_halfwidth(to_simplified(text)))
