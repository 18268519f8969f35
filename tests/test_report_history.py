"""The demo history: Rasa can read every event it writes, it is deterministic and idempotent, and the report
over it adds up (every conversation has exactly one outcome; each hand-off lands in a conversation)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select

from bot.clock import CN_TZ
from bot.db.models import AfterSalesCase, Handoff, LedgerEntry, SatisfactionSurvey
from bot.db.seed import seed_demo_shop
from bot.db.session import make_engine, session_scope
from bot.report import build_report
from bot.report.history import HistoryConfig, remove_history, seed_history
from bot.report.period import Period
from bot.report.settings import ReportSettings
from bot.report.tracker import EVENTS

END = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
CONFIG = HistoryConfig(conversations=150, days=14, seed=7)


@pytest.fixture
def engines(tmp_path, _sqlite_template):
    """A seeded demo shop (SQLite) and an empty tracker store file."""
    import shutil

    app_path = tmp_path / "app.db"
    shutil.copyfile(_sqlite_template, app_path)
    app = make_engine(f"sqlite:///{app_path}")
    with session_scope(app) as session:
        seed_demo_shop(session, now=END)
    tracker = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    yield app, tracker
    app.dispose()
    tracker.dispose()


def _digest(engine, query) -> str:
    with engine.connect() as connection:
        return hashlib.sha256(repr(connection.execute(query).all()).encode()).hexdigest()


def test_every_event_round_trips_through_rasa(engines):
    from rasa.shared.core.events import Event

    app, tracker = engines
    seed_history(app, tracker, HistoryConfig(conversations=40, days=5, seed=1), end=END)
    with tracker.connect() as connection:
        rows = connection.execute(select(EVENTS)).mappings().all()
    assert rows
    types = set()
    for row in rows:
        data = json.loads(row["data"])
        event = Event.from_parameters(data)
        assert event is not None, data
        assert event.as_dict() == data  # exactly what Rasa itself would have stored
        assert row["type_name"] == event.type_name
        assert row["timestamp"] == data["timestamp"]
        assert row["intent_name"] == data.get("parse_data", {}).get("intent", {}).get("name")
        assert row["action_name"] == data.get("name")
        types.add(row["type_name"])
    assert {"session_started", "user", "bot", "action", "slot", "active_loop", "user_featurization"} <= types


def test_same_seed_same_history_and_a_second_run_writes_nothing(engines, tmp_path, _sqlite_template):
    app, tracker = engines
    first = seed_history(app, tracker, CONFIG, end=END)
    again = seed_history(app, tracker, CONFIG, end=END)
    assert not first.skipped and again.skipped
    events = select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data).order_by(EVENTS.c.id)
    ledger = select(LedgerEntry.idempotency_key, LedgerEntry.amount_fen, LedgerEntry.state).order_by(LedgerEntry.id)
    digest = (_digest(tracker, events), _digest(app, ledger))

    with app.begin() as a, tracker.begin() as t:
        remove_history(a, t)
    with app.connect() as connection:  # the demo shop's own rows are untouched
        assert connection.execute(select(func.count()).select_from(AfterSalesCase)).scalar_one() == 4
    replay = seed_history(app, tracker, CONFIG, end=END)
    assert replay == first
    assert (_digest(tracker, events), _digest(app, ledger)) == digest


def test_report_over_the_history_adds_up(engines):
    app, tracker = engines
    summary = seed_history(app, tracker, CONFIG, end=END)
    period = Period.parse("2026-11-01", "2026-11-24")
    report = build_report(period, app, tracker, ReportSettings(tracker_url="x"), now=END)
    conv = report.conversations
    assert conv.total == summary.conversations == CONFIG.conversations
    assert conv.automated + conv.handed_off + conv.abandoned == conv.total
    with app.connect() as connection:
        handed_conversations = connection.execute(
            select(func.count()).select_from(Handoff).where(Handoff.conversation_id.like("hist_%"))).scalar_one()
    assert conv.handed_off == handed_conversations  # the history hands off at most once per conversation
    assert 0 < conv.automation_rate < 1
    assert sum(d.conversations for d in conv.daily) == conv.total
    assert report.compensation_total_fen > 0 and report.scenarios and report.repeat_claimers
    assert all(s.order_numbers for s in report.scenarios)
    assert report.score.total is not None
    # satisfaction: one survey per case the history resolves (by the bot or an agent), some answered 不满意
    with app.connect() as connection:
        resolved = connection.execute(select(func.count()).select_from(AfterSalesCase).where(
            AfterSalesCase.buyer_id.like("hist_%"), AfterSalesCase.status == "resolved")).scalar_one()
    sat = report.satisfaction
    assert sat.total.asked == summary.surveys == resolved > 0
    assert {r.key for r in sat.by_resolver} == {"bot", "agent"}
    assert 0 < sat.total.answered < sat.total.asked and sat.unsatisfied
    assert all(u.order_number and u.order_number.startswith("7766") for u in sat.unsatisfied)
    assert sum(r.asked for r in sat.daily) == sat.total.asked


def test_replacing_the_history_replaces_its_surveys(engines):
    app, tracker = engines
    first = seed_history(app, tracker, CONFIG, end=END)
    again = seed_history(app, tracker, CONFIG, end=END, replace=True)
    with app.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(SatisfactionSurvey)).scalar_one()
    assert first.surveys == again.surveys == stored


def test_history_leaves_the_agents_queue_alone(engines):
    app, tracker = engines
    seed_history(app, tracker, CONFIG, end=END)
    with app.connect() as connection:
        open_handoffs = connection.execute(select(func.count()).select_from(Handoff)
                                           .where(Handoff.status != "closed")).scalar_one()
        latest = connection.execute(select(func.max(AfterSalesCase.updated_at))
                                    .where(AfterSalesCase.buyer_id.like("hist_%"))).scalar_one()
    assert open_handoffs == 0
    assert latest <= END


def test_after_the_history_an_ordinary_insert_gets_a_fresh_id_on_every_backend(db_url, tmp_path):
    """The history writes its own ids; PostgreSQL's sequences must move past them (the scaled stack's first
    new case failed on a duplicate key before)."""
    from bot.db.models import Order, Shop

    app = make_engine(db_url)
    with session_scope(app) as session:
        seed_demo_shop(session, now=END)
    tracker = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    seed_history(app, tracker, HistoryConfig(conversations=20, days=3, seed=3), end=END)
    with session_scope(app) as session:
        shop = session.execute(select(Shop)).scalars().first()
        order = Order(order_number="990000000001", shop=shop, buyer_id="b_demo_1", platform=shop.platform,
                      status="signed", paid_at=END, ship_by=END)
        session.add(order)
        session.flush()
        assert order.id > session.execute(select(func.max(Order.id)).where(Order.id != order.id)).scalar_one()
    app.dispose()
    tracker.dispose()


def test_every_generated_conversation_is_its_own_session(engines):
    """The 300-conversation demo history once put two sessions of one repeat buyer at the same second (the
    starts after the last allowed one were all clamped to it) and the report counted 299. One day of 80
    conversations puts a quarter of them past that point."""
    app, tracker = engines
    config = HistoryConfig(conversations=80, days=1)
    summary = seed_history(app, tracker, config, end=END)
    with tracker.connect() as connection:
        starts = connection.execute(select(EVENTS.c.sender_id, EVENTS.c.timestamp).where(
            EVENTS.c.action_name == "action_session_start")).all()
    assert len(starts) == len(set(starts)) == 80
    period = Period.parse("2026-11-01", "2026-11-24")
    report = build_report(period, app, tracker, ReportSettings(tracker_url="x"), now=END)
    assert report.conversations.total == summary.conversations == 80
