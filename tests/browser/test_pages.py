"""The two pages in real headless Chromium over the whole stack (Rasa, actions, DB, web service).

1. A buyer reports a broken 20-yuan bottle, uploads a photo, accepts 2 + 3 yuan: the ledger holds them.
2. A second buyer asks for a human; an agent opens the console, sees the case with its options, edits a
   draft and sends it; the buyer's open page shows it without a reload.
3. A message with `<img src=x onerror=alert(1)>` is shown as text on both pages; nothing runs.
Screenshots of each page: browser_helpers.SCREENSHOTS (`make screenshots` refreshes docs/screenshots/).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.db.models import LedgerEntry
from bot.db.session import session_scope

from browser_helpers import png_photo, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.model]

XSS = "<img src=x onerror=alert(1)>"
REPLY_TIMEOUT_MS = 60_000


def ledger(db_url: str, buyer: str) -> list[tuple[str, int, str, str]]:
    with session_scope(db_url) as session:
        return [(e.kind, e.amount_fen, e.state, e.approved_by) for e in session.execute(
            select(LedgerEntry).where(LedgerEntry.buyer_id == buyer).order_by(LedgerEntry.id)).scalars()]


def open_widget_as(page, web_url: str, buyer: str) -> None:
    page.goto(web_url + "/widget")
    page.select_option("#buyer-select", buyer)
    page.click("#buyer-go")
    page.wait_for_selector("#picker", state="hidden")


REPLIES = ".msg.bot .bubble, .msg.agent .bubble"


def say(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")


def replies_seen(page) -> int:
    return page.locator(REPLIES).count()


def wait_for_bot_text(page, pattern: str, after: int = 0) -> str:
    """The text of the first reply after the first `after` ones that matches `pattern` (regex)."""
    page.wait_for_function(
        """([selector, after, pattern]) => Array.from(document.querySelectorAll(selector)).slice(after)
               .some((node) => new RegExp(pattern).test(node.textContent))""",
        arg=[REPLIES, after, pattern], timeout=REPLY_TIMEOUT_MS)
    texts = page.locator(REPLIES).all_text_contents()[after:]
    return next(text for text in texts if re.search(pattern, text))


def test_buyer_reports_a_broken_bottle_uploads_a_photo_and_accepts_2_plus_3(stack, web_url, new_page, tmp_path):
    buyer = "b_demo_1"
    before = ledger(stack.db_url, buyer)
    page = new_page(390, 844)  # a phone
    open_widget_as(page, web_url, buyer)
    say(page, "你好，瓶子收到就碎了一个角，订单886600010001")
    wait_for_bot_text(page, "照片")
    page.set_input_files("#photo", str(png_photo(tmp_path / "bottle.png")))
    page.locator(".msg.buyer img").first.wait_for(timeout=REPLY_TIMEOUT_MS)
    offer = wait_for_bot_text(page, "2元")
    assert "3元" in offer
    seen = replies_seen(page)
    page.locator(".quick button", has_text="好的").click()
    wait_for_bot_text(page, "登记|安排", after=seen)
    assert ledger(stack.db_url, buyer)[len(before):] == [("compensation", 200, "paid", "bot"),
                                                           ("review_rebate", 300, "promised", "bot")]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # usable at phone width
    screenshot(page, "widget.png")
    page.reload()  # the conversation comes back from the tracker store
    page.locator(".msg.bot .bubble", has_text="2元").first.wait_for(timeout=REPLY_TIMEOUT_MS)
    assert not page.dialogs


def test_handoff_agent_edits_a_suggested_draft_and_the_buyer_sees_it(stack, web_url, new_page, tmp_path):
    buyer = "b_demo_2"
    buyer_page = new_page(390, 844)
    open_widget_as(buyer_page, web_url, buyer)
    say(buyer_page, "杯子碎了，订单号886600020003")
    wait_for_bot_text(buyer_page, "照片")
    buyer_page.set_input_files("#photo", str(png_photo(tmp_path / "cup.png")))
    wait_for_bot_text(buyer_page, "2元")
    seen = replies_seen(buyer_page)
    say(buyer_page, "转人工")
    wait_for_bot_text(buyer_page, "人工|客服", after=seen)

    agent = new_page(1440, 900)
    agent.goto(web_url + "/console")
    agent.wait_for_selector("#login:not([hidden])")
    agent.wait_for_function("() => document.getElementById('token').value.length > 0")  # a function: the page's CSP forbids eval of an expression
    agent.click("#login button")
    agent.locator("#waiting .conv", has_text=buyer).click()
    option = agent.locator(".option").filter(has=agent.locator("button", has_text="批准并发送")).first
    option.wait_for(timeout=REPLY_TIMEOUT_MS)
    assert re.search(r"规则 A1", option.text_content())
    assert option.locator(".rule-words").text_content().strip()  # the rule in words
    agent.click("#takeover")
    edited = "亲，实在抱歉！客服小王为您申请：补偿2元，好评后再返现3元，已经登记好了。"
    option.locator("textarea").fill(edited)
    option.locator("button", has_text="批准并发送").click()
    option.locator(".status", has_text="已批准").wait_for(timeout=REPLY_TIMEOUT_MS)
    screenshot(agent, "console.png")

    buyer_page.locator(".msg.agent .bubble", has_text=edited).wait_for(timeout=15_000)  # no reload
    screenshot(buyer_page, "widget-agent-reply.png")
    grants = [row for row in ledger(stack.db_url, buyer) if row[3] == "agent:demo"]
    assert [(kind, fen) for kind, fen, _, _ in grants] == [("compensation", 200), ("review_rebate", 300)]
    assert not agent.dialogs and not buyer_page.dialogs


def test_markup_in_messages_is_shown_as_text_on_both_pages(stack, web_url, new_page):
    buyer = "b_demo_3"
    page = new_page(390, 844)
    open_widget_as(page, web_url, buyer)
    say(page, XSS)
    bubble = page.locator(".msg.buyer:not(.pending) .bubble", has_text="onerror").first
    bubble.wait_for(timeout=REPLY_TIMEOUT_MS)
    assert bubble.text_content() == XSS
    assert page.locator("#log img[src='x']").count() == 0

    agent = new_page(1280, 800)
    agent.goto(web_url + "/console")
    agent.click("#login button")
    agent.locator(f".conv[data-conversation='{buyer}']").first.click()
    agent_bubble = agent.locator(".msg.buyer .bubble", has_text="onerror").first
    agent_bubble.wait_for(timeout=REPLY_TIMEOUT_MS)
    assert agent_bubble.text_content() == XSS
    agent.fill("#reply-text", "回显：" + XSS)
    agent.click("#reply-send")
    page.locator(".msg.agent .bubble", has_text="回显").wait_for(timeout=15_000)
    assert page.locator(".msg.agent .bubble", has_text="回显").text_content() == "回显：" + XSS
    page.wait_for_timeout(500)  # give any injected handler the chance to fire
    assert page.locator("img[src='x']").count() == 0 and agent.locator("img[src='x']").count() == 0
    assert not page.dialogs and not agent.dialogs
