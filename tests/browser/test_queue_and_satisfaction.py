"""Issue 18 in real headless Chromium over the whole stack (Rasa, actions, DB, web service).

1. The agents' queue: hand-offs queued oldest-first with different platform deadlines show in the console
   ordered by deadline (overdue first, then least time left, an older row without a stored one gets it from the pack), with the time left and the marks.
2. Satisfaction in the widget: b_demo_13's 价保 case settled by the bot, 好的 → the 满意 / 一般 / 不满意 buttons
   with a comment box; a tap with a comment disables the survey, the bot answers, the database holds the
   answer with the case; the service report lists the 不满意 case with its order number and a link to it.
Screenshots: browser_helpers.SCREENSHOTS (`make screenshots` refreshes the README's).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import now_cn
from bot.db.models import Handoff, SatisfactionSurvey
from bot.db.session import session_scope

from browser_helpers import screenshot
from test_pages import REPLY_TIMEOUT_MS, open_widget_as, replies_seen, say, wait_for_bot_text

pytestmark = [pytest.mark.slow, pytest.mark.model]


def login_console(page, web_url: str, path: str = "/console") -> None:
    page.goto(web_url + "/console")
    page.wait_for_selector("#login:not([hidden])")
    page.wait_for_function("() => document.getElementById('token').value.length > 0")
    page.click("#login button")
    page.wait_for_selector("#workspace:not([hidden])")
    if path != "/console":
        page.goto(web_url + path)


# (conversation, queued minutes ago, deadline from now in hours or None, kind)
# q_legacy has no stored deadline (a row queued before deadlines existed): the console computes its 24 working-hour
# question deadline from the pack, at most 72 h away over a weekend, so it comes before q_far whatever the weekday.
QUEUE = [("q_legacy", 50, None, None), ("q_far", 40, 100, "return_request"), ("q_overdue", 30, -3, "complaint"),
         ("q_soon", 20, 1, "refund_dispute"), ("q_mid", 10, 10, "question")]


def test_the_queue_is_ordered_by_deadline_with_time_left_and_marks(stack, web_url, new_page):
    now = now_cn()
    with session_scope(stack.db_url) as session:
        for conversation, ago, hours, kind in QUEUE:
            session.add(Handoff(conversation_id=conversation, reason="request_human", summary=f"测试 {conversation}",
                                status="waiting", created_at=now - timedelta(minutes=ago),
                                deadline_at=now + timedelta(hours=hours) if hours is not None else None,
                                deadline_kind=kind, deadline_rule="B-response-times" if kind else None))
    try:
        page = new_page(1440, 900)
        login_console(page, web_url)
        page.locator("#waiting .conv", has_text="q_mid").wait_for(timeout=REPLY_TIMEOUT_MS)
        order = [c for c in page.locator("#waiting .conv").evaluate_all(
            "nodes => nodes.map((n) => n.dataset.conversation)") if c.startswith("q_")]
        assert order == ["q_overdue", "q_soon", "q_mid", "q_legacy", "q_far"]  # not the queueing order
        overdue = page.locator("#waiting .conv[data-conversation='q_overdue'] .deadline")
        assert "overdue" in overdue.get_attribute("class") and "已超时" in overdue.text_content()
        soon = page.locator("#waiting .conv[data-conversation='q_soon'] .deadline")
        assert "dispute-risk" in soon.get_attribute("class") and "纠纷风险" in soon.text_content()
        assert "剩余" in page.locator("#waiting .conv[data-conversation='q_far'] .deadline").text_content()
        assert "咨询" in page.locator("#waiting .conv[data-conversation='q_legacy'] .deadline").text_content()
        screenshot(page, "console-queue.png")
        assert not page.dialogs
    finally:
        with session_scope(stack.db_url) as session:  # the other browser tests see the queue they expect
            for handoff in session.execute(select(Handoff).where(Handoff.conversation_id.like("q_%"))).scalars():
                handoff.status = "closed"


def test_the_buyer_rates_a_case_the_bot_settled_and_the_report_lists_it(stack, web_url, new_page):
    buyer, order = "b_demo_13", "886600130001"
    page = new_page(390, 844)
    open_widget_as(page, web_url, buyer)
    say(page, f"醒酒器买了没几天就降价了，订单{order}，能退差价吗")
    wait_for_bot_text(page, "差价")
    seen = replies_seen(page)
    page.locator(".quick button", has_text="好的").click()
    wait_for_bot_text(page, "满意吗", after=seen)
    survey = page.locator(".msg.bot .survey").last
    assert survey.locator("button").all_text_contents() == ["满意", "一般", "不满意"]
    survey.locator(".survey-comment").fill("降价这么快 有点心塞")
    screenshot(page, "widget-satisfaction.png")
    seen = replies_seen(page)
    survey.locator("button", has_text="不满意").click()
    wait_for_bot_text(page, "抱歉", after=seen)
    assert survey.locator("button:disabled").count() == 3  # one answer per survey in the page too
    assert page.locator(".msg.buyer .bubble", has_text="不满意：降价这么快").count() == 1
    with session_scope(stack.db_url) as session:
        row = session.execute(select(SatisfactionSurvey).where(SatisfactionSurvey.order_number == order)
                              ).scalar_one()
        stored = (row.rating, row.comment, row.intent, row.resolver, row.conversation_id)
    assert stored == ("unsatisfied", "降价这么快 有点心塞", "price_protection", "bot", buyer)

    report = new_page(1440, 1400)
    login_console(report, web_url, "/console/report")
    report.wait_for_selector("body[data-loaded='1']", timeout=REPLY_TIMEOUT_MS)
    row = report.locator("#unsatisfied-table tr", has_text=order)
    assert "降价这么快" in row.text_content()
    assert row.locator("a").get_attribute("href") == f"/console?conversation={buyer}"
    assert report.locator("#satisfaction-chart svg rect[data-series='unsatisfied']").count() >= 1
    report.locator("#unsatisfied-table").scroll_into_view_if_needed()
    screenshot(report, "report-satisfaction.png")
    assert not page.dialogs and not report.dialogs
