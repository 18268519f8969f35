"""The agents' queue and the platform's deadlines (rules-from-seeds B): the deadline of each hand-off comes
from the rule pack, is stored with the hand-off, and orders the console's waiting list."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import now_cn, parse_time
from bot.db import cases as db_cases
from bot.db.migrate import upgrade
from bot.db.models import Handoff
from bot.db.seed import seed_demo_shop
from bot.db.session import dispose_engines, session_scope
from bot.policy import load_pack
from bot.service import AfterSalesService, CaseInputs
from bot.service.deadlines import Deadline, add_working_hours, handoff_deadline, queue_state
from bot.web.agent import list_conversations

MONDAY_10 = parse_time("2024-06-03T10:00:00+08:00")
FRIDAY_18 = parse_time("2024-06-07T18:00:00+08:00")


def test_a_question_counts_working_days_only():
    assert add_working_hours(MONDAY_10, 24) == parse_time("2024-06-04T10:00:00+08:00")
    assert add_working_hours(FRIDAY_18, 24) == parse_time("2024-06-10T18:00:00+08:00")  # the weekend skipped
    saturday = parse_time("2024-06-08T11:00:00+08:00")
    assert add_working_hours(saturday, 24) == parse_time("2024-06-11T00:00:00+08:00")


@pytest.mark.parametrize("intent, reason, kind, hours", [
    (None, "request_human", "question", 24),
    ("damaged", "beyond_last_step", "return_request", 72),
    (None, "complaint_escalation", "complaint", 48),
    ("refund_status", "request_human", "refund_dispute", 72),
])
def test_each_case_gets_the_packs_deadline(intent, reason, kind, hours):
    deadline = handoff_deadline(load_pack(), intent, reason, MONDAY_10)
    assert deadline.kind == kind and deadline.due_at == MONDAY_10 + timedelta(hours=hours)
    assert deadline.rule.startswith(("B-response-times.", "B-72h."))


def test_the_deadline_follows_the_pack_not_a_constant(tmp_path):
    import shutil
    from bot.settings import PROJECT_ROOT
    pack_dir = tmp_path / "policy"
    shutil.copytree(PROJECT_ROOT / "data" / "policy", pack_dir)
    platform = pack_dir / "platform.yml"
    platform.write_text(platform.read_text(encoding="utf-8").replace("complaint_hours: 48", "complaint_hours: 12"),
                        encoding="utf-8")
    deadline = handoff_deadline(load_pack(pack_dir), None, "complaint_escalation", MONDAY_10)
    assert deadline.due_at == MONDAY_10 + timedelta(hours=12)


def test_queue_state_marks_overdue_and_dispute_risk():
    now = MONDAY_10
    assert queue_state(now - timedelta(minutes=1), now, "question")["overdue"] is True
    soon = queue_state(now + timedelta(hours=2), now, "refund_dispute")
    assert soon["due_soon"] and soon["dispute_risk"] and not soon["overdue"]
    assert queue_state(now + timedelta(hours=30), now, "refund_dispute")["dispute_risk"] is False


@pytest.fixture()
def demo_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
    yield url
    dispose_engines()


def test_a_hand_off_stores_its_deadline(demo_url):
    service = AfterSalesService(demo_url)
    inputs = CaseInputs(conversation_id="b_demo_1", buyer_id="b_demo_1", intent="damaged", now=now_cn(),
                        order_number="886600010001")
    case_id = service.assess(inputs).case_id
    service.hand_off("b_demo_1", "b_demo_1", "request_human", inputs=inputs, case_id=case_id)
    with session_scope(demo_url) as session:
        handoff = session.query(Handoff).one()
        assert handoff.deadline_kind == "return_request"
        assert handoff.deadline_rule == "B-response-times.return_request_hours"
        assert abs((handoff.deadline_at - inputs.now) - timedelta(hours=72)) < timedelta(seconds=1)


def test_the_waiting_list_is_ordered_by_deadline(demo_url):
    now = now_cn()
    with session_scope(demo_url) as session:
        for conversation, left, kind in (("later", 40, "return_request"), ("overdue", -2, "question"),
                                         ("dispute", 1, "refund_dispute")):
            db_cases.create_handoff(session, conversation, "request_human",
                                    deadline=Deadline(kind, now + timedelta(hours=left), "B-test"))
    waiting = list_conversations(demo_url, {})["waiting"]
    assert [row["conversation_id"] for row in waiting] == ["overdue", "dispute", "later"]
    assert waiting[0]["overdue"] and waiting[0]["seconds_left"] < 0
    assert waiting[1]["dispute_risk"] and not waiting[2]["dispute_risk"]


def test_the_report_shows_the_share_handled_within_the_deadline(demo_url):
    from bot.db.session import make_engine
    from bot.report.figures import build_report
    from bot.report.period import Period
    from bot.report.settings import ReportSettings

    now = now_cn()
    with session_scope(demo_url) as session:
        for conversation, due_in, taken_after in (("on_time", 5, 1), ("late", 1, 4), ("overdue", -1, None),
                                                  ("not_due", 10, None)):
            handoff = db_cases.create_handoff(session, conversation, "request_human",
                                              deadline=Deadline("question", now + timedelta(hours=due_in), "B-t"))
            handoff.created_at = now - timedelta(hours=2)
            if taken_after is not None:
                handoff.taken_at, handoff.status = handoff.created_at + timedelta(hours=taken_after), "taken"
    period = Period.last_days(7, now)
    report = build_report(period, make_engine(demo_url), None, ReportSettings(tracker_url=None), now=now + timedelta(hours=4))
    row = next(r for r in report.deadlines if r.kind == "all")
    assert (row.in_time, row.late, row.waiting_not_due) == (1, 2, 1) and row.share == round(1 / 3, 4)
    assert report.to_dict()["deadlines"][0]["share"] is not None
