"""A shop's labelled chat logs as training data: JSONL, one ``{"text": ..., "intent": ...}`` object a line.

This is the format a shop exports from its own customer-service history (and the format the console's
intent corrections are exported in, ``python -m bot nlu export-corrections``). Extra keys (``source``,
``row``, ``batch`` ...) are ignored.

Unlike the evaluation reader (``bot.nlu_eval.eval_data``), which refuses a broken file, a log export is
expected to hold some bad rows: those are skipped and *reported* with their line number and reason
(not JSON, empty text, an intent the assistant does not know), never dropped silently.

Where the file comes from (first that applies): an explicit path (config.yml's importer ``path``), the
environment variable ``AFTERSALES_TRAINING_LOGS`` (empty = none), then ``../shared/train/chat_logs.jsonl``
beside the project when it exists. Nothing found means: train on the team's examples alone.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from bot.settings import PROJECT_ROOT

LOGS_ENV = "AFTERSALES_TRAINING_LOGS"
DEFAULT_LOGS_PATH = PROJECT_ROOT.parent / "shared" / "train" / "chat_logs.jsonl"
MAX_TEXT_CHARS = 1000  # the web service's message limit: a longer "message" is not one a buyer could send


@dataclass(frozen=True)
class LabelledMessage:
    line: int
    text: str
    intent: str


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class LabelledLogs:
    path: Path
    messages: list[LabelledMessage] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.messages)} labelled messages from {self.path}, {len(self.rejected)} rows skipped"


@dataclass(frozen=True)
class LogsChoice:
    """Which logs file training uses, and why (for the training log)."""

    path: Path | None
    reason: str


def choose_logs_path(explicit: str | os.PathLike | None = None, environ: dict | None = None) -> LogsChoice:
    environ = os.environ if environ is None else environ
    if explicit:
        return LogsChoice(_resolve(explicit), "set in config.yml")
    if LOGS_ENV in environ:
        value = environ[LOGS_ENV].strip()
        if not value:
            return LogsChoice(None, f"{LOGS_ENV} is set empty")
        return LogsChoice(_resolve(value), f"set by {LOGS_ENV}")
    if DEFAULT_LOGS_PATH.is_file():
        return LogsChoice(DEFAULT_LOGS_PATH, "the default path exists")
    return LogsChoice(None, f"no path given and {DEFAULT_LOGS_PATH} does not exist")


def _resolve(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def _check_row(raw: str, known_intents: set[str] | None) -> tuple[str, str] | str:
    """(text, intent) for a good row, else the reason it is rejected."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg})"
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    text, intent = record.get("text"), record.get("intent")
    if not isinstance(text, str) or not text.strip():
        return "empty or missing text"
    if len(text) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    if not isinstance(intent, str) or not intent.strip():
        return "empty or missing intent"
    intent = intent.strip()
    if known_intents is not None and intent not in known_intents:
        return f"unknown intent {intent!r}"
    return text.strip(), intent


def read_labelled_logs(path: str | os.PathLike, known_intents: Iterable[str] | None = None) -> LabelledLogs:
    """Read every row; good rows become messages, bad ones are listed in ``rejected``.

    Raises OSError when the file cannot be read at all (a path that was asked for must exist).
    """
    path = Path(path)
    known = set(known_intents) if known_intents is not None else None
    logs = LabelledLogs(path=path)
    with path.open(encoding="utf-8-sig") as lines:
        for line_number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            checked = _check_row(raw, known)
            if isinstance(checked, str):
                logs.rejected.append(RejectedRow(line_number, checked))
            else:
                logs.messages.append(LabelledMessage(line_number, *checked))
    return logs


def write_labelled_logs(rows: Iterable[tuple[str, str, dict]], path: str | os.PathLike) -> int:
    """Write (text, intent, extra) rows in the same JSONL format; returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for text, intent, extra in rows:
            out.write(json.dumps({"text": text, "intent": intent, **extra}, ensure_ascii=False) + "\n")
            count += 1
    return count
