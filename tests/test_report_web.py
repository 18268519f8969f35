"""The report in the web service: /api/report behind the agents' bearer token, the page and its assets,
served by the real app (bot.web.app registers report_bp) over real HTTP on the hand-made history."""
from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy import create_engine, insert

from bot.db.session import dispose_engines
from bot.report.tracker import EVENTS, tracker_metadata
from bot.web.auth import DEMO_AGENT_TOKEN, sign_buyer_token
from tests.inprocess_web import serving
from tests.test_report import hand_made_tracker, seed_app
from tests.test_web_api import FakeRasa


def get(base: str, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture(scope="module")
def base(tmp_path_factory, _sqlite_template):
    from bot.web.app import create_app

    tmp = tmp_path_factory.mktemp("report-web")
    shutil.copyfile(_sqlite_template, tmp / "app.db")
    db_url = f"sqlite:///{tmp / 'app.db'}"
    seed_app(db_url)
    tracker_url = f"sqlite:///{tmp / 'tracker.db'}"
    engine = create_engine(tracker_url, future=True)
    tracker_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), hand_made_tracker().rows)
    engine.dispose()
    patch = pytest.MonkeyPatch()
    patch.setenv("AFTERSALES_TRACKER_DB_URL", tracker_url)
    patch.delenv("AFTERSALES_AGENT_TOKENS", raising=False)
    app = create_app(f"report_test_{uuid.uuid4().hex[:8]}", rasa=FakeRasa(), db_url=db_url, uploads=tmp / "up")
    with serving(app) as url:
        yield url
    patch.undo()
    dispose_engines()


@pytest.mark.parametrize("token", [None, "wrong-token", "buyer"])
def test_report_api_needs_an_agent_token(base, token):
    if token == "buyer":
        token = sign_buyer_token("b1")
    status, headers, body = get(base, "/api/report?since=2026-11-10&until=2026-11-13", token)
    assert status == 401 and b"total" not in body


def test_report_api_returns_the_figures(base):
    status, headers, body = get(base, "/api/report?since=2026-11-10&until=2026-11-13", DEMO_AGENT_TOKEN)
    assert status == 200, body
    data = json.loads(body)
    assert data["conversations"]["total"] == 5 and data["conversations"]["automation_rate"] == 0.2
    assert data["compensation"]["total_fen"] == 1000
    assert data["scenarios"][0]["order_numbers"] == ["100000000004", "100000000001"]
    assert "收到商品破损" in body.decode("utf-8")  # Chinese titles as UTF-8, not escapes


@pytest.mark.parametrize("query", ["since=2026-11-13&until=2026-11-10", "since=2026-11-10",
                                   "since=nonsense&until=2026-11-10", "since=2020-01-01&until=2026-01-01"])
def test_report_api_rejects_a_bad_period(base, query):
    status, _headers, body = get(base, "/api/report?" + query, DEMO_AGENT_TOKEN)
    assert status == 400 and json.loads(body)["error"]


def test_page_and_assets_load_nothing_from_elsewhere(base):
    status, headers, html = get(base, "/console/report")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    text = html.decode("utf-8")
    assert "http://" not in text and "https://" not in text and "<script>" not in text and "style=" not in text
    for asset in ("report.js", "report.css"):
        status, headers, body = get(base, f"/console/report/assets/{asset}")
        assert status == 200 and b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")
        assert b"https://" not in body
    assert get(base, "/console/report/assets/..%2Fweb.py")[0] == 404
    assert get(base, "/console/report/assets/report.html")[0] == 404
