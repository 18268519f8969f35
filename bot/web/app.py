"""The Sanic app: buyer widget + agent console + copilot API, and the report page when bot.report has it."""
from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from typing import Any, Optional

from sanic import Sanic
from sanic.log import logger as sanic_logger

from bot.copilot import Copilot
from bot.web.agent import agent_bp
from bot.web.buyer import buyer_bp
from bot.web.catalog_api import catalog_bp
from bot.web.rasa_client import RasaClient
from bot.web.uploads import upload_dir

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Pages may load nothing from elsewhere (no CDN); inline scripts are not allowed either.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                           "connect-src 'self'; frame-ancestors *")


def create_app(name: str = "aftersales_web", *, rasa: Any = None, db_url: Optional[str] = None,
               uploads: Optional[Path] = None, copilot: Optional[Copilot] = None) -> Sanic:
    """`rasa` is anything with RasaClient's methods (tests pass a fake)."""
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 10 * 1024 * 1024
    app.ctx.rasa = rasa or RasaClient()
    app.ctx.db_url = db_url
    app.ctx.copilot = copilot or Copilot(db_url)
    app.ctx.upload_dir = uploads or upload_dir()
    app.ctx.static_dir = STATIC_DIR
    app.ctx.recent = {}
    app.ctx.locks = {}
    app.blueprint(buyer_bp)
    app.blueprint(agent_bp)
    app.blueprint(catalog_bp)
    app.static("/static", str(STATIC_DIR), name="static_files")
    _register_report(app)

    @app.middleware("response")
    async def security_headers(request, response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")

    @app.listener("after_server_start")
    async def warm_up(app_: Sanic, loop) -> None:
        # The rule pack and the suggestion queries, once, before an agent asks (a cold first call cost
        # ~100 ms here, several times that on a busy machine).
        warm = getattr(app_.ctx.copilot, "warm_up", None)
        if warm is not None:
            started = time.perf_counter()
            try:
                await loop.run_in_executor(None, warm)
            except Exception:  # noqa: BLE001 — a warm-up failure must not stop the service
                logger.exception("copilot warm-up failed")
            else:
                sanic_logger.info("copilot warmed up in %.0f ms", (time.perf_counter() - started) * 1000)

    @app.listener("after_server_stop")
    async def close_rasa(app_: Sanic, _loop) -> None:
        close = getattr(app_.ctx.rasa, "close", None)
        if close is not None:
            await close()

    return app


def _register_report(app: Sanic) -> None:
    """Issue 8's report page plugs in here when bot/report/web.py exists (it shares bot.web.auth)."""
    try:
        module = importlib.import_module("bot.report.web")
    except ImportError as exc:
        if exc.name and exc.name.startswith("bot.report"):
            return
        logger.exception("the report page could not be loaded")
        return
    blueprint = getattr(module, "report_bp", None)
    if blueprint is not None:
        app.blueprint(blueprint)
