"""The report page in headless Chromium: log in with the agent token, see the charts drawn from the seeded
demo history, and nothing fetched from anywhere but the service. Needs no Rasa: the report reads the
database and the tracker store only, so the web service runs against a seeded copy with an unused Rasa URL.
The screenshot is report.png in browser_helpers.SCREENSHOTS (`make screenshots` refreshes docs/screenshots/).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from bot.settings import PROJECT_ROOT
from bot.web.auth import DEMO_AGENT_TOKEN

from browser_helpers import SCREENSHOTS, web_service

pytestmark = [pytest.mark.slow]


def run_ok(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def report_web(tmp_path_factory):
    """(base URL, env): the web service over the demo shop plus 300 generated past conversations."""
    tmp = tmp_path_factory.mktemp("report-page")
    env = {**os.environ, "AFTERSALES_DB_URL": f"sqlite:///{tmp / 'app.db'}",
           "AFTERSALES_TRACKER_DB_URL": f"sqlite:///{tmp / 'tracker.db'}",
           "AFTERSALES_RASA_URL": "http://127.0.0.1:9", "AFTERSALES_UPLOAD_DIR": str(tmp / "uploads"),
           "AFTERSALES_DEMO": "1"}
    env.pop("AFTERSALES_AGENT_TOKENS", None)
    run_ok(["bot", "db", "seed"], env)
    run_ok(["bot.report", "seed-history", "--conversations", "300"], env)
    with web_service(env, tmp / "web.log") as url:
        yield url


def api_report(base: str) -> dict:
    request = urllib.request.Request(base + "/api/report", headers={"Authorization": f"Bearer {DEMO_AGENT_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_agent_sees_the_report_with_charts(report_web, new_page):
    page = new_page(1280, 1700)
    requested, errors, failed = [], [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda response: failed.append((response.status, response.url.split("?")[0]))
            if response.status >= 400 else None)
    page.on("pageerror", lambda error: errors.append(str(error)))  # a script exception

    page.goto(report_web + "/console/report")
    page.wait_for_selector("#login", state="visible")  # no token yet: the login form, no figures
    assert page.locator("#report").is_hidden()

    page.fill("#token", "wrong-token")
    page.click("#login button")
    page.wait_for_function("() => document.getElementById('login-hint').textContent.length > 0")  # a function: the page's CSP forbids eval of an expression
    page.fill("#token", DEMO_AGENT_TOKEN)
    page.click("#login button")
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)

    expected = api_report(report_web)
    first_card = page.locator("#cards .card .value").first.text_content()
    assert first_card.replace(",", "") == str(expected["conversations"]["total"])
    assert expected["conversations"]["total"] == 300
    assert page.locator("#daily-chart svg rect").count() >= len(expected["period"]["days"]) // 2
    assert page.locator("#score-chart svg rect").count() == 4
    assert page.locator("#intent-chart svg rect").count() > 5
    assert page.locator("#kind-chart svg rect").count() == len(expected["compensation"]["by_kind"])
    scenarios = page.locator("#scenario-table td.orders").all_text_contents()
    assert scenarios and all(text.startswith("7766") or text.startswith("8866") for text in scenarios)

    assert all(url.startswith(report_web) for url in requested), [u for u in requested if not u.startswith(report_web)]
    assert errors == []
    # the wrong token's 401 is the only failed request (besides the browser's own favicon probe)
    assert [f for f in failed if not f[1].endswith("/favicon.ico")] == [(401, report_web + "/api/report")]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)


def test_changing_the_period_reloads_the_figures(report_web, new_page):
    page = new_page(1280, 900)
    page.goto(report_web + "/console/report")
    page.fill("#token", DEMO_AGENT_TOKEN)
    page.click("#login button")
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    page.evaluate("document.body.dataset.loaded = ''")
    page.fill("#since", "2020-01-01")
    page.fill("#until", "2020-01-08")
    page.click("#period button")
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    assert page.locator("#cards .card .value").first.text_content() == "0"
    assert page.locator("#scenario-table .empty").count() == 1
