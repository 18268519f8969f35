"""The report in the agent console: `GET /console/report` (the page) and `GET /api/report` (its JSON).

The page follows the console's own pattern (bot/web/agent.py): its HTML, script and style hold no data and
load like /console does, and every figure comes from /api/report, which answers 401 without an agent's
bearer token (the page keeps the token the console login stored in sessionStorage). The web service's
Content-Security-Policy allows no inline script or style, so both live in bot/report/static/.

`bot.web.app` registers `report_bp` itself when this module imports; `make_report_blueprint(auth)` takes any
decorator with require_agent's contract (tests, or a service with another login).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Awaitable, Callable, Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, json
from sqlalchemy.exc import OperationalError

from bot.clock import now_cn
from bot.db.session import DatabaseUnavailable
from bot.report import run_report
from bot.report.period import Period

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = {"report.js": "text/javascript; charset=utf-8", "report.css": "text/css; charset=utf-8"}
DEFAULT_DAYS = 28
MAX_DAYS = 366  # one request may not ask the database for years of figures

Handler = Callable[..., Awaitable[HTTPResponse]]


def period_from_query(since: Optional[str], until: Optional[str], now) -> Period:
    """Both bounds, or neither (the last 28 days and today); ValueError for anything else."""
    if not since and not until:
        return Period.last_days(DEFAULT_DAYS, now)
    if not since or not until:
        raise ValueError("give both since and until (YYYY-MM-DD), or neither (the last 28 days)")
    period = Period.parse(since, until)
    if (period.until - period.since).days > MAX_DAYS:
        raise ValueError(f"a period of at most {MAX_DAYS} days")
    return period


def make_report_blueprint(auth: Callable[[Handler], Handler]) -> Blueprint:
    blueprint = Blueprint("report")

    @blueprint.get("/console/report")
    async def report_page(request: Request) -> HTTPResponse:
        return await file(STATIC_DIR / "report.html", mime_type="text/html; charset=utf-8")

    @blueprint.get("/console/report/assets/<name>")
    async def report_asset(request: Request, name: str) -> HTTPResponse:
        if name not in ASSETS:  # a fixed list: no path from the URL ever reaches the file system
            return json({"error": "not found"}, status=404)
        return await file(STATIC_DIR / name, mime_type=ASSETS[name])

    @blueprint.get("/api/report")
    @auth
    async def report_json(request: Request) -> HTTPResponse:
        try:
            period = period_from_query(request.args.get("since"), request.args.get("until"), now_cn())
        except ValueError as exc:
            return json({"error": str(exc)}, status=400)
        db_url = getattr(request.app.ctx, "db_url", None)
        try:
            report = await asyncio.to_thread(run_report, period, app_url=db_url)  # SQLAlchemy is blocking
        except (DatabaseUnavailable, OperationalError) as exc:
            logger.warning("report: database unavailable: %s", exc)
            return json({"error": "database unavailable"}, status=503)
        return json(report.to_dict(), ensure_ascii=False)

    return blueprint


def _require_agent(handler: Handler) -> Handler:
    from bot.web.auth import require_agent  # the web service's agent login, shared with the console

    return require_agent(handler)


report_bp = make_report_blueprint(_require_agent)

__all__ = ["report_bp", "make_report_blueprint", "period_from_query"]
