"""The report's satisfaction figures on the hand-made history of tests/test_report.py plus a few answers.

Surveys (asked in China time; the period is [2026-11-10, 2026-11-13)):
  case 10  b2 damaged        bot          asked 11-09 11:00   不满意   before the period: left out
  case 11  b1 damaged        bot          asked 11-10 09:05   满意
  case 12  b1 quality_issue  agent:a1     asked 11-11 21:00   不满意 「等太久」
  case 14  b3 damaged        bot          asked 11-12 23:59   一般     (15:59 UTC: still the 12th in China)
  case 15  b3 leaking        agent:a2     asked 11-12 16:00   not answered
  case 16  b2 leaking        bot          asked 11-13 00:00   满意     the period's end: left out
"""
from __future__ import annotations

import json

from sqlalchemy import insert

from bot.db.models import AfterSalesCase, SatisfactionSurvey
from bot.report.period import Period
from bot.report.render import tables
from tests.test_report import at, history, report_for  # noqa: F401  (history is a fixture)

SURVEYS = [  # case, buyer, intent, kind, resolved_by, order, asked, rating, comment
    (10, "b2", "damaged", "compensation_with_rebate", "bot", "100000000001", at(9, 11), "unsatisfied", None),
    (11, "b1", "damaged", "compensation_with_rebate", "bot", "100000000001", at(10, 9, 5), "satisfied", None),
    (12, "b1", "quality_issue", "agent_closed", "agent:a1", "100000000002", at(11, 21), "unsatisfied", "等太久"),
    (14, "b3", "damaged", "compensation_with_rebate", "bot", "100000000004", at(12, 23, 59), "neutral", None),
    (15, "b3", "leaking", "refund", "agent:a2", "100000000004", at(12, 16), None, None),
    (16, "b2", "leaking", "refund", "bot", "100000000003", at(13, 0), "satisfied", None),
]


def add_surveys(history) -> None:
    app, _ = history
    with app.begin() as db:
        for case_id in (14, 15, 16):  # cases of their own (10-13 come with the hand-made history)
            db.execute(insert(AfterSalesCase.__table__).values(
                id=case_id, buyer_id="b3" if case_id < 16 else "b2", order_id=4, intent="damaged", status="resolved",
                conversation_id="b3", refusals=0, summary="", created_at=at(12, 10), updated_at=at(12, 11),
                closed_at=at(12, 11)))
        db.execute(insert(SatisfactionSurvey.__table__), [
            {"case_id": case, "conversation_id": buyer, "buyer_id": buyer, "order_number": order, "intent": intent,
             "resolution_kind": kind, "resolver": "bot" if by == "bot" else "agent", "resolved_by": by,
             "asked_at": asked, "rating": rating, "comment": comment,
             "answered_at": asked if rating else None}
            for case, buyer, intent, kind, by, order, asked, rating, comment in SURVEYS])


def figures(row) -> tuple:
    return (row.key, row.asked, row.answered, row.satisfied, row.neutral, row.unsatisfied)


def test_satisfaction_by_intent_resolution_and_resolver(history):
    add_surveys(history)
    sat = report_for(history).satisfaction
    assert figures(sat.total) == ("all", 4, 3, 1, 1, 1)
    assert sat.answered_share == 0.75 and sat.total.satisfied_share == round(1 / 3, 4)
    assert [figures(r) for r in sat.by_intent] == [("damaged", 2, 2, 1, 1, 0), ("leaking", 1, 0, 0, 0, 0),
                                                   ("quality_issue", 1, 1, 0, 0, 1)]
    assert [figures(r) for r in sat.by_resolution_kind] == [
        ("compensation_with_rebate", 2, 2, 1, 1, 0), ("agent_closed", 1, 1, 0, 0, 1), ("refund", 1, 0, 0, 0, 0)]
    assert [figures(r) for r in sat.by_resolver] == [("agent", 2, 1, 0, 0, 1), ("bot", 2, 2, 1, 1, 0)]


def test_satisfaction_over_time_has_every_day_in_china_time(history):
    add_surveys(history)
    daily = report_for(history).satisfaction.daily
    assert [figures(r) for r in daily] == [("2026-11-10", 1, 1, 1, 0, 0), ("2026-11-11", 1, 1, 0, 0, 1),
                                           ("2026-11-12", 2, 1, 0, 1, 0)]


def test_the_unsatisfied_list_has_order_numbers_comments_and_transcript_links(history):
    add_surveys(history)
    report = report_for(history)
    [case] = report.satisfaction.unsatisfied
    assert (case.case_id, case.order_number, case.intent, case.resolved_by, case.comment) == \
        (12, "100000000002", "quality_issue", "agent:a1", "等太久")
    assert case.transcript_url == "/console?conversation=b1"
    data = json.loads(json.dumps(report.to_dict()))
    assert data["satisfaction"]["unsatisfied"][0]["transcript_url"] == "/console?conversation=b1"
    assert data["satisfaction"]["by_resolver"][0]["satisfied_share"] == 0.0
    assert tables(report)["unsatisfied_cases"][1][0][:2] == (12, "100000000002")


def test_a_period_without_surveys_has_zeros_not_errors(history):
    sat = report_for(history, Period.parse("2027-01-01", "2027-01-03")).satisfaction
    assert figures(sat.total) == ("all", 0, 0, 0, 0, 0)
    assert sat.answered_share is None and sat.total.satisfied_share is None and sat.unsatisfied == ()
    assert [r.asked for r in sat.daily] == [0, 0]
