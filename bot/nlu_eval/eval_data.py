"""Reading an evaluation set: JSONL, one ``{"text": ..., "intent": ...}`` object a line.

Extra keys (e.g. ``source``) are ignored. Blank lines are skipped. Anything else that is not a JSON object
with non-empty string ``text`` and ``intent`` is rejected with its 1-based line number, so a broken file
fails loudly instead of silently shrinking the eval set.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


class EvalDataError(ValueError):
    """The eval file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class EvalExample:
    """One labelled message. ``line`` is its 1-based line number in the file (used to list errors
    without repeating the text, which must not leave the held-out set)."""

    line: int
    text: str
    intent: str


def _parse_line(raw: str, line_number: int, path: Path) -> EvalExample:
    where = f"{path}:{line_number}"
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        raise EvalDataError(f"{where}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise EvalDataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("text", "intent"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise EvalDataError(f"{where}: '{key}' must be a non-empty string")
    return EvalExample(line=line_number, text=record["text"], intent=record["intent"].strip())


def read_eval_jsonl(path: str | Path) -> list[EvalExample]:
    """Read every labelled message of a JSONL file; raise EvalDataError on the first bad line."""
    path = Path(path)
    examples: list[EvalExample] = []
    with path.open(encoding="utf-8-sig") as lines:  # -sig: tolerate a BOM written by some editors
        for line_number, raw in enumerate(lines, start=1):
            if raw.strip():
                examples.append(_parse_line(raw, line_number, path))
    if not examples:
        raise EvalDataError(f"{path}: no examples found")
    return examples


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes: identifies the eval set in a report without copying it."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def intent_counts(examples: list[EvalExample]) -> dict[str, int]:
    """Examples per intent, sorted by intent name (stable, diff-friendly reports)."""
    return dict(sorted(Counter(example.intent for example in examples).items()))
