"""Browser-test fixtures: the whole stack (Rasa + action server from tests/test_rest_e2e.py's `stack` fixture,
shared rather than copied), the bot web service on a free port, and Debian's headless Chromium via Playwright.

Never downloads a browser: Playwright drives /usr/bin/chromium (apt-get install chromium), or CHROMIUM_PATH.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS_DIR))
from test_rest_e2e import stack  # noqa: E402,F401  (the shared stack fixture)
from browser_helpers import web_service  # noqa: E402


CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def web_url(stack, tmp_path_factory):
    """`python -m bot.web` against the stack's Rasa server and database."""
    tmp = tmp_path_factory.mktemp("web")
    rasa_port = urlparse(stack.url).port
    env = {**os.environ, "AFTERSALES_DB_URL": stack.db_url, "AFTERSALES_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "AFTERSALES_UPLOAD_DIR": str(tmp / "uploads"), "AFTERSALES_DEMO": "1"}
    env.pop("AFTERSALES_AGENT_TOKENS", None)
    with web_service(env, tmp / "web.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary user-data-dir of its own.
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser):
    """new_page(width, height) -> a page in its own context (own sessionStorage: one buyer or agent each)."""
    contexts = []

    def make(width: int = 390, height: int = 844):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()
