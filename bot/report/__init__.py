"""Service monitoring for the shop: where buyers need help, what it costs, how the bot does (issue 8).

`run_report(period)` reads the tracker store and the order database and returns a `Report`;
`python -m bot.report` prints it, `bot.report.web.report_bp` serves it to the agent console.
Nothing here imports Rasa: the tracker store is read as the plain SQL table Rasa writes.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot.clock import now_cn
from bot.db.session import get_engine, sqlite_file
from bot.report.figures import Report, build_report
from bot.report.period import Period
from bot.report.settings import ReportSettings, report_settings

__all__ = ["Period", "Report", "ReportSettings", "build_report", "report_settings", "rule_titles", "run_report",
           "tracker_engine"]


def tracker_engine(url: str) -> Engine | None:
    """An engine for the tracker store, or None when it is a SQLite file that does not exist (connecting
    would create an empty one: the report must not leave files behind)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    return create_engine(url, future=True)


def rule_titles() -> dict[str, str]:
    """Rule id -> title from the rule packs; empty if the packs cannot be read (the report still runs)."""
    try:
        from bot.policy.loader import load_pack

        return {rule_id: rule.title for rule_id, rule in load_pack().rules.items()}
    except Exception:  # noqa: BLE001 - a broken pack must not take the report down; titles are cosmetic
        return {}


def run_report(period: Period, *, app_url: str | None = None, tracker_url: str | None = None,
               now: datetime | None = None, settings: ReportSettings | None = None) -> Report:
    settings = settings or report_settings(tracker_url)
    engine = tracker_engine(settings.tracker_url)
    try:
        return build_report(period, get_engine(app_url), engine, settings, now=now or now_cn(),
                            rule_titles=rule_titles())
    finally:
        if engine is not None:
            engine.dispose()
