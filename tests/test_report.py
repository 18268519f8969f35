"""The report's figures on a small hand-made history, each checked exactly (docs/report.md has the definitions).

The history, period [2026-11-10, 2026-11-13) China time:
  c1  b1 11-10 09:00  damaged, order, affirm -> case k1 resolved by the bot in 240 s     automated
  c2  b1 11-11 20:00  quality_issue, request_human -> hand-off h1, agent settles k2       handed off
  c3  b2 11-11 10:00  delivery_status, the order form opens and never closes             abandoned
  c4  b3 11-12 15:00  damaged, order -> case k3 left at "offered"                         abandoned
  c5  b3 11-12 18:00  complaint_escalation -> hand-off h2 (no case)                       handed off, escalated
  c6  b2 11-09 23:00  started before the period (its greet at 11-10 00:30 still counts as a message)
  c7  b2 11-13 00:10  starts after the period; its hand-off h3 (00:20) must not land on c3
  c8  b3 11-12 09:00  a session without any buyer message: not a conversation
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert

from bot.clock import CN_TZ
from bot.db.models import AfterSalesCase, Buyer, Handoff, LedgerEntry, Order, OrderItem, Shipment, Shop
from bot.db.session import make_engine
from bot.report import build_report, tracker_engine
from bot.report.period import Period
from bot.report.settings import ReportSettings, ScoreSettings
from bot.report.tracker import EVENTS, tracker_metadata

PERIOD = Period.parse("2026-11-10", "2026-11-13")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CN_TZ)
SCORE = ScoreSettings(zero_at=(("product", 2.0), ("shipping", 1.0), ("logistics", 0.5), ("basic", 2.0)))
TITLES = {"A1": "收到商品破损，不影响使用", "A7": "产品质量问题（参照破损处理）"}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=CN_TZ)


# --- building the hand-made history ----------------------------------------------------------------------

class Tracker:
    """Writes rows the way Rasa's SQLTrackerStore does (only the columns the report reads matter here)."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, sender: str, type_name: str, when: datetime, intent: str | None = None,
            name: str | None = None) -> None:
        data = {"event": type_name, "timestamp": when.timestamp()}
        self.rows.append({"sender_id": sender, "type_name": type_name, "timestamp": when.timestamp(),
                          "intent_name": intent, "action_name": name, "data": json.dumps(data)})

    def session(self, sender: str, when: datetime) -> None:
        self.add(sender, "action", when, name="action_session_start")
        self.add(sender, "session_started", when)
        self.add(sender, "action", when, name="action_listen")

    def user(self, sender: str, when: datetime, intent: str) -> None:
        self.add(sender, "user", when, intent=intent)
        self.add(sender, "user_featurization", when)
        self.add(sender, "bot", when + timedelta(seconds=1))


def hand_made_tracker() -> Tracker:
    t = Tracker()
    t.session("b1", at(10, 9))
    for minute, intent in ((0, "damaged"), (1, "provide_order_number"), (4, "affirm")):
        t.user("b1", at(10, 9, minute, 30), intent)
    t.add("b1", "active_loop", at(10, 9, 0, 40), name="order_form")
    t.add("b1", "active_loop", at(10, 9, 1, 40))  # the form ends: name null
    t.session("b2", at(9, 23))  # c6
    t.user("b2", at(10, 0, 30), "greet")
    t.session("b2", at(11, 10))  # c3
    t.user("b2", at(11, 10, 0, 20), "delivery_status")
    t.add("b2", "active_loop", at(11, 10, 0, 30), name="order_form")
    t.session("b1", at(11, 20))  # c2
    t.user("b1", at(11, 20, 1), "quality_issue")
    t.user("b1", at(11, 20, 3), "request_human")
    t.session("b3", at(12, 9))  # c8: nobody typed
    t.session("b3", at(12, 15))  # c4
    t.user("b3", at(12, 15, 1), "damaged")
    t.user("b3", at(12, 15, 2), "provide_order_number")
    t.session("b3", at(12, 18))  # c5
    t.user("b3", at(12, 18, 1), "complaint_escalation")
    t.session("b2", at(13, 0, 10))  # c7
    t.user("b2", at(13, 0, 15), "request_human")
    return t


def _order(number: str, buyer: str, paid: datetime, shipped: datetime | None, sku: str = "GL-BOTTLE") -> dict:
    return {"order_number": number, "buyer_id": buyer, "paid_at": paid, "ship_by": paid + timedelta(hours=72),
            "shipped": shipped, "sku": sku}


ORDERS = {
    "o1": _order("100000000001", "b1", at(9, 8), at(9, 20)),
    "o2": _order("100000000002", "b1", at(10, 10), at(13, 12), sku="AP-KETTLE"),  # shipped after ship_by: late
    "o3": _order("100000000003", "b2", at(11, 9), None),  # unshipped, ship_by 11-14: not late yet
    "o4": _order("100000000004", "b3", at(12, 7), at(12, 19)),
}


def seed_app(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as db:
        db.execute(insert(Shop.__table__), [{"id": 1, "code": "s", "name": "店", "platform": "tmall",
                                              "created_at": at(1, 0)}])
        db.execute(insert(Buyer.__table__), [{"id": b, "platform": "tmall", "credit_tier": "3", "nickname": "",
                                               "note": "", "created_at": at(1, 0)} for b in ("b1", "b2", "b3")])
        for n, (key, spec) in enumerate(sorted(ORDERS.items()), start=1):
            db.execute(insert(Order.__table__).values(
                id=n, order_number=spec["order_number"], shop_id=1, buyer_id=spec["buyer_id"], platform="tmall",
                status="signed" if spec["shipped"] else "paid_unshipped", paid_at=spec["paid_at"],
                ship_by=spec["ship_by"], listing_kind="ordinary", free_shipping=True, freight_insurance=False,
                service_tags=[], note="", created_at=spec["paid_at"]))
            db.execute(insert(OrderItem.__table__).values(
                order_id=n, sku=spec["sku"], title=f"商品 {spec['sku']}", category="glass", unit_price_fen=2000,
                paid_fen=2000, qty=1, no_return_when_opened=False))
            if spec["shipped"]:
                db.execute(insert(Shipment.__table__).values(
                    order_id=n, courier="中通快递", waybill=f"ZT{n}", status="signed", shipped_at=spec["shipped"],
                    signed_date_only=False, events=[]))
        cases = [  # id, buyer, order id, intent, status, rule, created, closed
            (10, "b2", 1, "damaged", "resolved", "A1", at(9, 10), at(9, 11)),  # before the period
            (11, "b1", 1, "damaged", "resolved", "A1", at(10, 9, 1, 40), at(10, 9, 5, 40)),
            (12, "b1", 2, "quality_issue", "resolved", "A7", at(11, 20, 2), at(11, 21, 0)),
            (13, "b3", 4, "damaged", "offered", "A1", at(12, 15, 2, 30), None),
        ]
        for case_id, buyer, order_id, intent, status, rule, created, closed in cases:
            db.execute(insert(AfterSalesCase.__table__).values(
                id=case_id, buyer_id=buyer, order_id=order_id, intent=intent, status=status, conversation_id=buyer,
                refusals=0, summary="", created_at=created, updated_at=closed or created, closed_at=closed,
                last_resolution={"current_offer": {"rule": rule}}))
        handoffs = [  # conversation, case, reason, created
            ("b1", 12, "request_human", at(11, 20, 3, 10)),
            ("b3", None, "complaint_escalation", at(12, 18, 1, 10)),
            ("b2", None, "request_human", at(13, 0, 20)),
        ]
        db.execute(insert(Handoff.__table__), [
            {"conversation_id": c, "case_id": k, "reason": r, "summary": "", "status": "closed", "created_at": t}
            for c, k, r, t in handoffs])
        ledger = [  # key, case, buyer, kind, fen, rule, approver, state, created
            ("k10", 10, "b2", "compensation", 700, "A1", "bot", "paid", at(9, 11)),
            ("k11a", 11, "b1", "compensation", 200, "A1", "bot", "paid", at(10, 9, 5, 40)),
            ("k11b", 11, "b1", "review_rebate", 300, "A1", "bot", "promised", at(10, 9, 5, 40)),
            ("k12", 12, "b1", "compensation", 500, "A7", "agent:a1", "paid", at(11, 21)),
            ("k13", 13, "b3", "compensation", 999, "A1", "bot", "cancelled", at(12, 15, 3)),
        ]
        db.execute(insert(LedgerEntry.__table__), [
            {"idempotency_key": key, "case_id": case, "order_id": None, "buyer_id": buyer, "kind": kind,
             "amount_fen": fen, "rule_id": rule, "seed_rule": rule, "approved_by": approver, "state": state,
             "note": "", "created_at": created, "updated_at": created}
            for key, case, buyer, kind, fen, rule, approver, state, created in ledger])
    engine.dispose()


@pytest.fixture
def history(db_url, tmp_path):
    """(app engine, tracker engine) over the hand-made history."""
    seed_app(db_url)
    # SQLite: a tracker file of its own, as in production; PostgreSQL: Rasa's table in the same database
    # (the name `events` does not clash), so both backends run the tracker queries too.
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}" if db_url.startswith("sqlite") else db_url
    events = create_engine(tracker_url, future=True)
    tracker_metadata.drop_all(events)
    tracker_metadata.create_all(events)
    with events.begin() as connection:
        connection.execute(insert(EVENTS), hand_made_tracker().rows)
    app = make_engine(db_url)
    yield app, events
    app.dispose()
    if not db_url.startswith("sqlite"):  # leave the shared PostgreSQL test database as the conftest made it
        tracker_metadata.drop_all(events)
    events.dispose()


def report_for(history, period: Period = PERIOD):
    app, events = history
    settings = ReportSettings(tracker_url=str(events.url), score=SCORE)
    return build_report(period, app, events, settings, now=NOW, rule_titles=TITLES)


# --- the figures -----------------------------------------------------------------------------------------

def test_conversation_outcomes(history):
    conv = report_for(history).conversations
    assert (conv.total, conv.automated, conv.handed_off, conv.abandoned, conv.escalated) == (5, 1, 2, 2, 1)
    assert conv.automation_rate == 0.2


def test_daily_trend_has_every_day_of_the_period(history):
    daily = report_for(history).conversations.daily
    assert [(d.day.isoformat(), d.conversations, d.automated, d.handed_off, d.abandoned) for d in daily] == [
        ("2026-11-10", 1, 1, 0, 0), ("2026-11-11", 2, 0, 1, 1), ("2026-11-12", 2, 0, 1, 1)]


def test_intents_count_buyer_messages_sent_in_the_period(history):
    report = report_for(history)
    assert dict(report.intents) == {"damaged": 2, "provide_order_number": 2, "affirm": 1, "quality_issue": 1,
                                    "request_human": 1, "delivery_status": 1, "complaint_escalation": 1,
                                    "greet": 1}
    assert report.intents[0] == ("damaged", 2)  # most frequent first, then by name
    assert report.intent_trend["damaged"] == (1, 0, 1)
    assert report.intent_trend["greet"] == (1, 0, 0)


def test_cases_and_median_time_to_resolution(history):
    cases = report_for(history).cases
    assert (cases.total, cases.by_status) == (3, {"offered": 1, "resolved": 2})
    assert (cases.resolved_by_bot, cases.resolved_by_agent) == (1, 1)
    assert cases.median_resolution_s == 1860.0  # median of 240 s (k11) and 3480 s (k12)
    assert cases.median_bot_resolution_s == 240.0


def test_compensation_by_kind_rule_and_approver(history):
    report = report_for(history)
    rows = lambda table: [(r.key, r.entries, r.amount_fen) for r in table]  # noqa: E731
    assert rows(report.compensation_by_kind) == [("compensation", 2, 700), ("review_rebate", 1, 300)]
    assert rows(report.compensation_by_rule) == [("A1", 2, 500), ("A7", 1, 500)]
    assert [r.title for r in report.compensation_by_rule] == [TITLES["A1"], TITLES["A7"]]
    # the same amount: the row with more entries comes first
    assert rows(report.compensation_by_approver) == [("bot", 2, 500), ("agent", 1, 500)]
    assert report.compensation_total_fen == 1000
    assert all(isinstance(r.amount_fen, int) for r in report.compensation_by_kind)


def test_promised_rebates_not_yet_paid(history):
    report = report_for(history)
    assert [(r.key, r.entries, r.amount_fen) for r in report.promised_unpaid] == [("review_rebate", 1, 300)]
    assert report.rebates_unpaid_fen == 300


def test_repeat_claimers(history):
    claimers = report_for(history).repeat_claimers
    assert [(c.buyer_id, c.claims, c.amount_fen) for c in claimers] == [("b1", 2, 1000)]


def test_top_help_scenarios_group_intent_rule_and_product_with_order_numbers(history):
    scenarios = report_for(history).scenarios
    assert [(s.intent, s.rule_id, s.sku, s.cases, s.order_numbers) for s in scenarios] == [
        ("damaged", "A1", "GL-BOTTLE", 2, ("100000000004", "100000000001")),
        ("quality_issue", "A7", "AP-KETTLE", 1, ("100000000002",)),
    ]
    assert scenarios[0].rule_title == TITLES["A1"]
    assert scenarios[0].product == "商品 GL-BOTTLE"


def test_service_experience_score(history):
    score = report_for(history).score
    parts = {p.part: p for p in score.parts}
    # 3 orders paid in the period (o2, o3, o4); problems per part as in the module docstring
    assert {name: (p.problems, p.orders) for name, p in parts.items()} == {
        "product": (3, 3), "shipping": (1, 3), "logistics": (0, 3), "basic": (3, 3)}
    assert {name: p.score for name, p in parts.items()} == {
        "product": 50.0, "shipping": 66.7, "logistics": 100.0, "basic": 50.0}
    assert score.total == 63.3  # 0.3*50 + 0.2*66.67 + 0.2*100 + 0.3*50
    assert score.reference_total == 88.5
    assert parts["shipping"].versus_reference == round(66.7 - 92.0, 1)


def test_empty_period(history):
    report = report_for(history, Period.parse("2027-01-01", "2027-01-03"))
    assert (report.conversations.total, report.conversations.automation_rate) == (0, None)
    assert [d.conversations for d in report.conversations.daily] == [0, 0]
    assert report.intents == () and report.scenarios == () and report.repeat_claimers == ()
    assert (report.cases.total, report.cases.median_resolution_s) == (0, None)
    assert report.compensation_total_fen == 0
    assert report.score.total is None and all(p.score is None for p in report.score.parts)
    json.dumps(report.to_dict())  # still serialisable


def test_absent_tracker_store_leaves_conversations_out_and_creates_no_file(history, tmp_path):
    app, _events = history
    missing = tmp_path / "nowhere" / "tracker.db"
    engine = tracker_engine(f"sqlite:///{missing}")
    assert engine is None
    report = build_report(PERIOD, app, engine, ReportSettings(tracker_url="x", score=SCORE), now=NOW)
    assert not report.tracker_available and report.conversations is None and report.intents == ()
    assert report.notes and "tracker store unavailable" in report.notes[0]
    assert report.cases.total == 3 and report.compensation_total_fen == 1000
    assert not missing.exists()


def test_empty_tracker_database_without_events_table(history, tmp_path):
    app, _events = history
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}", future=True)
    report = build_report(PERIOD, app, empty, ReportSettings(tracker_url="x", score=SCORE), now=NOW)
    empty.dispose()
    assert not report.tracker_available and report.conversations is None


def test_period_parsing():
    period = Period.parse("2026-11-01", "2026-11-23")
    assert period.since == datetime(2026, 11, 1, tzinfo=CN_TZ)
    assert len(period.days()) == 22
    with pytest.raises(ValueError):
        Period.parse("2026-11-23", "2026-11-01")
