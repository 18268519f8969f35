"""The console's banner in headless Chromium: while the shop's last rule-pack edit is rejected, every agent
sees it (with the pack loader's message) at the top of the console, before opening any conversation; it goes
away once the edit is fixed. Needs no Rasa (the console's queue reads the database)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT
from bot.web.auth import DEMO_AGENT_TOKEN

from browser_helpers import web_service

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def console_web(tmp_path_factory):
    """(base URL, the pack directory the service reads)."""
    tmp = tmp_path_factory.mktemp("console-banner")
    pack_dir = tmp / "policy"
    shutil.copytree(PROJECT_ROOT / "data" / "policy", pack_dir)
    env = {**os.environ, "AFTERSALES_DB_URL": f"sqlite:///{tmp / 'app.db'}", "AFTERSALES_POLICY_DIR": str(pack_dir),
           "AFTERSALES_RASA_URL": "http://127.0.0.1:9", "AFTERSALES_UPLOAD_DIR": str(tmp / "uploads"),
           "AFTERSALES_DEMO": "1"}
    env.pop("AFTERSALES_AGENT_TOKENS", None)
    done = subprocess.run([sys.executable, "-m", "bot", "db", "seed"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with web_service(env, tmp / "web.log") as url:
        yield url, pack_dir


def test_a_rejected_pack_edit_shows_a_banner_with_the_loaders_message(console_web, new_page):
    url, pack_dir = console_web
    page = new_page(1280, 800)
    page.goto(url + "/console")
    page.fill("#token", DEMO_AGENT_TOKEN)
    page.click("#login button")
    page.wait_for_selector("#workspace", state="visible")
    page.wait_for_selector("#waiting li")  # the queue was listed once
    assert page.locator("#pack-banner").is_hidden()

    shop = pack_dir / "shop.yml"
    good = shop.read_text(encoding="utf-8")
    shop.write_text(good + "\n  broken: [unclosed\n", encoding="utf-8")
    try:
        page.wait_for_selector("#pack-banner", state="visible", timeout=30_000)  # the next poll of the queue
        text = page.locator("#pack-banner").text_content()
        assert "规则包的最新修改未生效" in text and "shop.yml" in text
    finally:
        shop.write_text(good, encoding="utf-8")
    page.wait_for_selector("#pack-banner", state="hidden", timeout=30_000)
