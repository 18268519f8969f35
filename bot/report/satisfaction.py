"""The report's satisfaction figures (满意度): buyers' answers to the question asked when a case ended.

Read from `satisfaction_surveys` (bot.service.satisfaction), which copies each case's intent, resolution
kind and resolver when asked, so one grouped query per breakdown is enough. A survey belongs to the period
it was asked in. Definitions (docs/report.md): answered share = answered / asked; satisfied share (CSAT) =
满意 / answered; the 不满意 list holds every unsatisfied answer with its order number and a link that opens
the conversation in the console.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from urllib.parse import quote

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from bot.db.models import SATISFACTION_RATINGS, SatisfactionSurvey
from bot.report.period import Period

TRANSCRIPT_LINK = "/console?conversation={}"
MAX_UNSATISFIED = 200  # a review list, not an export: the newest first


@dataclass(frozen=True)
class RatingRow:
    """Surveys of one group (an intent, a resolution kind, bot/agent, or a day)."""
    key: str
    asked: int
    satisfied: int
    neutral: int
    unsatisfied: int

    @property
    def answered(self) -> int:
        return self.satisfied + self.neutral + self.unsatisfied

    @property
    def satisfied_share(self) -> float | None:
        return round(self.satisfied / self.answered, 4) if self.answered else None

    def to_dict(self) -> dict:
        return {**asdict(self), "answered": self.answered, "satisfied_share": self.satisfied_share}


@dataclass(frozen=True)
class UnsatisfiedCase:
    case_id: int
    conversation_id: str
    order_number: str | None
    intent: str
    resolution_kind: str
    resolver: str
    resolved_by: str
    comment: str | None
    answered_at: datetime

    @property
    def transcript_url(self) -> str:
        return TRANSCRIPT_LINK.format(quote(self.conversation_id, safe=""))

    def to_dict(self) -> dict:
        return {**asdict(self), "answered_at": self.answered_at.isoformat(), "transcript_url": self.transcript_url}


@dataclass(frozen=True)
class SatisfactionFigures:
    total: RatingRow
    by_intent: tuple[RatingRow, ...]
    by_resolution_kind: tuple[RatingRow, ...]
    by_resolver: tuple[RatingRow, ...]  # "bot" and "agent"
    daily: tuple[RatingRow, ...]  # key = ISO day, one row per day of the period
    unsatisfied: tuple[UnsatisfiedCase, ...]

    @property
    def answered_share(self) -> float | None:
        return round(self.total.answered / self.total.asked, 4) if self.total.asked else None

    def to_dict(self) -> dict:
        return {"total": self.total.to_dict(), "answered_share": self.answered_share,
                "by_intent": [r.to_dict() for r in self.by_intent],
                "by_resolution_kind": [r.to_dict() for r in self.by_resolution_kind],
                "by_resolver": [r.to_dict() for r in self.by_resolver],
                "daily": [r.to_dict() for r in self.daily],
                "unsatisfied": [u.to_dict() for u in self.unsatisfied]}


def satisfaction_figures(app: Connection, period: Period) -> SatisfactionFigures:
    asked = and_(SatisfactionSurvey.asked_at >= period.since, SatisfactionSurvey.asked_at < period.until)
    by_intent = _grouped(app, SatisfactionSurvey.intent, asked)
    by_day = {row.key: row for row in _grouped(app, _day(app), asked)}
    days = period.days()
    daily = tuple(_day_row(by_day, day) for day in days)
    return SatisfactionFigures(
        total=_sum_rows("all", by_intent), by_intent=by_intent,
        by_resolution_kind=_grouped(app, SatisfactionSurvey.resolution_kind, asked),
        by_resolver=_grouped(app, SatisfactionSurvey.resolver, asked),
        daily=daily, unsatisfied=_unsatisfied(app, asked))


def _grouped(app: Connection, key, condition) -> tuple[RatingRow, ...]:
    """Asked and each rating per key, most asked first."""
    counts = [func.count()] + [func.sum(case((SatisfactionSurvey.rating == r, 1), else_=0))
                               for r in SATISFACTION_RATINGS]
    rows = app.execute(select(key, *counts).where(condition).group_by(key)).all()
    result = [RatingRow(str(k), int(n), *(int(v or 0) for v in values)) for k, n, *values in rows]
    return tuple(sorted(result, key=lambda r: (-r.asked, r.key)))


def _day(app: Connection):
    """The China-time day number of asked_at (days since 1970-01-01), computed by the database."""
    from bot.report.figures import _epoch  # imported here: figures imports this module
    seconds = _epoch(SatisfactionSurvey.asked_at, app.dialect.name) + 8 * 3600
    return func.floor(seconds / 86400.0)


def _day_row(by_day: dict[str, RatingRow], day: date) -> RatingRow:
    number = (day - date(1970, 1, 1)).days
    for key in (str(number), f"{number}.0"):  # floor() comes back as an int or a float, by backend
        if key in by_day:
            row = by_day[key]
            return RatingRow(day.isoformat(), row.asked, row.satisfied, row.neutral, row.unsatisfied)
    return RatingRow(day.isoformat(), 0, 0, 0, 0)


def _sum_rows(key: str, rows: tuple[RatingRow, ...]) -> RatingRow:
    return RatingRow(key, sum(r.asked for r in rows), sum(r.satisfied for r in rows),
                     sum(r.neutral for r in rows), sum(r.unsatisfied for r in rows))


def _unsatisfied(app: Connection, condition) -> tuple[UnsatisfiedCase, ...]:
    s = SatisfactionSurvey
    rows = app.execute(select(s.case_id, s.conversation_id, s.order_number, s.intent, s.resolution_kind, s.resolver,
                              s.resolved_by, s.comment, s.answered_at)
                       .where(condition, s.rating == "unsatisfied")
                       .order_by(s.answered_at.desc(), s.id.desc()).limit(MAX_UNSATISFIED)).all()
    from bot.report.figures import _aware  # imported here: figures imports this module
    return tuple(UnsatisfiedCase(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], _aware(r[8])) for r in rows)


__all__ = ["RatingRow", "SatisfactionFigures", "UnsatisfiedCase", "satisfaction_figures"]
