"""Report settings: where the tracker store is, and the reference level the shop is compared with.

Both come from the environment so the same code serves the demo, a test and a production shop:
- AFTERSALES_TRACKER_DB_URL: Rasa's SQL tracker store (default: the SQLite file endpoints.yml names);
- AFTERSALES_REPORT_REFERENCE: the reference service-experience scores, e.g.
  "product=90,shipping=92,logistics=88,basic=85" (any part left out keeps its default).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

from bot.settings import PROJECT_ROOT

# The four parts of the service-experience score (seed 003), in display order.
SCORE_PARTS = ("product", "shipping", "logistics", "basic")

# An industry-like reference level; a shop replaces it with its own category's figures.
DEFAULT_REFERENCE = {"product": 90.0, "shipping": 92.0, "logistics": 88.0, "basic": 85.0}


def tracker_db_url() -> str:
    """endpoints.yml puts the tracker store in var/tracker.db relative to the project root."""
    return os.environ.get("AFTERSALES_TRACKER_DB_URL") or f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"


@dataclass(frozen=True)
class ScoreSettings:
    """How rates become scores (see docs/report.md).

    A part scores 100 when its rate is 0 and falls linearly to 0 at `zero_at` (problems per order);
    the total is the weighted mean of the four parts.
    """

    zero_at: tuple[tuple[str, float], ...] = (
        ("product", 0.40), ("shipping", 0.30), ("logistics", 0.40), ("basic", 0.50))
    weights: tuple[tuple[str, float], ...] = (
        ("product", 0.30), ("shipping", 0.20), ("logistics", 0.20), ("basic", 0.30))
    reference: tuple[tuple[str, float], ...] = tuple(DEFAULT_REFERENCE.items())

    def zero_at_for(self, part: str) -> float:
        return dict(self.zero_at)[part]

    def weight_for(self, part: str) -> float:
        return dict(self.weights)[part]

    def reference_for(self, part: str) -> float:
        return dict(self.reference)[part]


@dataclass(frozen=True)
class ReportSettings:
    tracker_url: str
    score: ScoreSettings = ScoreSettings()
    # A buyer with at least this many compensated cases in the period is a repeat claimer.
    repeat_claims: int = 2
    # How many help scenarios the report lists, and how many order numbers each shows.
    top_scenarios: int = 10
    orders_per_scenario: int = 20
    # A conversation that starts before `until` may go on after it: events this long after `until`
    # still count for it (hand-offs and outcomes), so the last evening of a period is not cut short.
    tail_seconds: int = 24 * 3600


def parse_reference(text: str) -> dict[str, float]:
    """"product=90,basic=80" -> {"product": 90.0, "basic": 80.0}; unknown parts are an error."""
    reference: dict[str, float] = {}
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        name, _, value = chunk.partition("=")
        name = name.strip()
        if name not in SCORE_PARTS:
            raise ValueError(f"unknown score part {name!r} in reference; expected {', '.join(SCORE_PARTS)}")
        reference[name] = float(value)
    return reference


def report_settings(tracker_url: str | None = None) -> ReportSettings:
    reference = {**DEFAULT_REFERENCE, **parse_reference(os.environ.get("AFTERSALES_REPORT_REFERENCE", ""))}
    score = replace(ScoreSettings(), reference=tuple((part, reference[part]) for part in SCORE_PARTS))
    return ReportSettings(tracker_url=tracker_url or tracker_db_url(), score=score)
