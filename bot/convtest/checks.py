"""Comparing what the bot did with what a suite expects: pure functions, first difference wins."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from bot.convtest.fixtures import Outcome
from bot.convtest.schema import Expect, Turn

MAX_SAID_CHARS = 600


@dataclass(frozen=True)
class Difference:
    """The first thing that did not match. turn is 1-based; None for the end-of-conversation checks."""
    turn: Optional[int]
    user: str
    expected: str
    actual: str

    def __str__(self) -> str:
        where = f"turn {self.turn} ({self.user!r})" if self.turn is not None else "after the last turn"
        return f"{where}: expected {self.expected}\n    got: {self.actual}"


@dataclass(frozen=True)
class BotTurn:
    """What the stack answered to one buyer message."""
    replies: list[dict]
    intent: Optional[str] = None
    slots: Optional[dict] = None

    @property
    def text(self) -> str:
        return "\n".join(str(r.get("text")) for r in self.replies if r.get("text"))

    @property
    def button_titles(self) -> list[str]:
        return [str(b.get("title", "")) for r in self.replies for b in (r.get("buttons") or [])]

    def said(self) -> str:
        text = self.text.replace("\n", " / ")
        if not text:
            return "(no reply)"
        return text if len(text) <= MAX_SAID_CHARS else text[:MAX_SAID_CHARS] + "…"


def check_turn(turn: Turn, number: int, bot: BotTurn) -> Optional[Difference]:
    user = turn.user if turn.user is not None else f"[button] {turn.button}"

    def diff(expected: str, actual: Optional[str] = None) -> Difference:
        return Difference(number, user, expected, actual if actual is not None else f"the bot said: {bot.said()}")

    if turn.intent is not None and bot.intent != turn.intent:
        return diff(f"intent {turn.intent}", f"intent {bot.intent} (the bot said: {bot.said()})")
    text = bot.text
    for wanted in turn.bot_contains:
        if wanted not in text:
            return diff(f"the reply to contain {wanted!r}")
    for unwanted in turn.bot_not_contains:
        if unwanted in text:
            return diff(f"the reply not to contain {unwanted!r}")
    for pattern in turn.bot_matches:
        if not re.search(pattern, text):
            return diff(f"the reply to match /{pattern}/")
    if turn.buttons is not None:
        titles = bot.button_titles
        if not turn.buttons and titles:
            return diff("no buttons", f"buttons {titles}")
        for wanted in turn.buttons:
            if not any(wanted in title for title in titles):
                return diff(f"a button containing {wanted!r}", f"buttons {titles} (the bot said: {bot.said()})")
    slot_diff = compare_slots(turn.slots, bot.slots or {})
    if slot_diff:
        return diff(slot_diff[0], slot_diff[1])
    return None


def compare_slots(expected: dict, actual: dict) -> Optional[tuple[str, str]]:
    for name, value in expected.items():
        if not same_value(value, actual.get(name)):
            return f"slot {name} = {value!r}", f"slot {name} = {actual.get(name)!r}"
    return None


def same_value(expected: Any, actual: Any) -> bool:
    """Slots come back as JSON: 1 and 1.0 are the same value; "12" in a suite matches 12 from the tracker."""
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return str(expected) == str(actual)


def check_expect(expect: Expect, outcome: Outcome, final_slots: Optional[dict]) -> Optional[Difference]:
    def diff(expected: str, actual: str) -> Difference:
        return Difference(None, "", expected, actual)

    if expect.ledger is not None:
        unmatched = ledger_mismatch(expect.ledger, outcome.ledger)
        if unmatched:
            return diff(unmatched, "ledger " + describe_rows(outcome.ledger))
    if expect.handoff is not None and bool(outcome.handoffs) != expect.handoff:
        reasons = [h["reason"] for h in outcome.handoffs]
        return diff("a hand-off to a human" if expect.handoff else "no hand-off",
                    f"hand-offs {reasons}" if reasons else "no hand-off")
    if expect.handoff_reason is not None:
        reasons = [h["reason"] for h in outcome.handoffs]
        if not any(expect.handoff_reason in reason for reason in reasons):
            return diff(f"a hand-off whose reason contains {expect.handoff_reason!r}", f"hand-offs {reasons}")
    if expect.invoice_requests is not None:
        problem = invoice_mismatch(expect.invoice_requests, outcome.invoice_requests)
        if problem:
            return diff(problem, f"invoice requests {outcome.invoice_requests}")
    if expect.case_status is not None and outcome.case_status != expect.case_status:
        return diff(f"case status {expect.case_status}", f"case status {outcome.case_status}")
    if expect.satisfaction is not None:
        problem = survey_mismatch(expect.satisfaction, outcome.satisfaction)
        if problem:
            return diff(problem, "satisfaction " + describe_rows(outcome.satisfaction))
    slot_diff = compare_slots(expect.slots, final_slots or {})
    if slot_diff:
        return diff(*slot_diff)
    return None


def ledger_mismatch(expected: Iterable, rows: list[dict]) -> Optional[str]:
    """Exactly the expected rows, in any order: each expectation takes one row it matches."""
    expected = list(expected)
    left = list(rows)
    for wanted in expected:
        match = next((row for row in left if wanted.matches(row)), None)
        if match is None:
            return f"ledger row {wanted.describe()}"
        left.remove(match)
    if left:
        return f"no ledger rows besides the {len(expected)} expected (extra: {describe_rows(left)})"
    return None


def invoice_mismatch(expected: list, rows: list[dict]) -> Optional[str]:
    if len(expected) != len(rows):
        return f"{len(expected)} invoice request(s)"
    for wanted, row in zip(expected, rows):
        for key, value in wanted.dict().items():
            if value is not None and row.get(key) != value:
                return f"invoice request with {key} = {value!r}"
    return None


def survey_mismatch(expected: list, rows: list[dict]) -> Optional[str]:
    """Exactly these surveys, in order; only the fields given are compared (rating also when null is meant:
    a survey asked and not answered is written `{rating: null}`)."""
    if len(expected) != len(rows):
        return f"{len(expected)} satisfaction survey(s)"
    for wanted, row in zip(expected, rows):
        for key in wanted.__fields_set__:
            if row.get(key) != getattr(wanted, key):
                return f"satisfaction survey with {key} = {getattr(wanted, key)!r}"
    return None


def describe_rows(rows: list[dict]) -> str:
    if not rows:
        return "[] (nothing written)"
    return "[" + ", ".join("{" + ", ".join(f"{k}: {v}" for k, v in row.items()) + "}" for row in rows) + "]"
