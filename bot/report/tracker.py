"""Reading Rasa's SQL tracker store without Rasa.

Rasa's SQLTrackerStore keeps one row per event in a table `events` (rasa/core/tracker_store.py,
SQLTrackerStore.SQLEvent): id, sender_id, type_name, timestamp (epoch seconds, float), intent_name (user
events), action_name (the event's "name": the action, the slot or the form), data (the event as JSON).
`EVENTS` below mirrors it column for column, so the history generator can write rows Rasa reads back
and the report can aggregate them with plain SQL.

A conversation is a Rasa dialogue session: it starts at a `session_started` event and lasts until the
sender's next one. Sessions are numbered per sender with a running count of `session_started` events
(a window function: SQLite >= 3.25, PostgreSQL).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    inspect,
    literal_column,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.sql.elements import ColumnElement

tracker_metadata = MetaData()

EVENTS = Table(
    "events", tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# The only event types the report reads; everything else (bot replies, slots, actions) is skipped early.
SESSION_EVENT_TYPES = ("session_started", "user", "active_loop")

SECONDS_PER_DAY = 86400
CHINA_OFFSET_S = 8 * 3600


@dataclass(frozen=True)
class SessionRow:
    """One conversation as the tracker store saw it."""

    sender_id: str
    started: float  # epoch seconds of its session_started event
    last_event: float  # epoch seconds of its last user message / form event
    user_messages: int
    forms_opened: int  # active_loop events naming a form
    forms_closed: int  # active_loop events with no name (the form ended or was deactivated)

    @property
    def ended_inside_form(self) -> bool:
        """The bot was still collecting something (order number, photo ...) when the buyer went quiet."""
        return self.forms_opened > self.forms_closed


def has_events_table(engine: Engine) -> bool:
    """False for a missing file, an empty database or an unreachable server: the report then says so."""
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("events")
    except (OperationalError, ProgrammingError):
        return False


def china_day(timestamp: ColumnElement, dialect_name: str) -> ColumnElement:
    """Days since 1970-01-01 in China time, as an integer (floor of a positive number)."""
    shifted = (timestamp + CHINA_OFFSET_S) / SECONDS_PER_DAY
    if dialect_name == "sqlite":  # CAST truncates, which is floor for positive values
        return cast(shifted, Integer)
    return cast(func.floor(shifted), Integer)


def sessions(connection: Connection, since_ts: float, until_ts: float) -> list[SessionRow]:
    """The conversations that started in [since_ts, until_ts), with their events up to until_ts.

    The caller passes an `until_ts` past the period's end (a tail) and keeps the sessions it wants: the later
    ones still matter, because a session ends where the sender's next one begins.

    Events are read from since_ts on, so a session that began earlier shows up only as events without a
    session_started (session number 0 for its sender) and is dropped by the HAVING clause.
    """
    e = EVENTS.c
    is_type = lambda name: case((e.type_name == name, 1), else_=0)  # noqa: E731 - a tiny SQL helper
    session_no = func.sum(is_type("session_started")).over(
        partition_by=e.sender_id, order_by=e.id, rows=(None, 0)).label("session_no")
    marked = (select(e.sender_id, e.type_name, e.timestamp, e.action_name, session_no)
              .where(e.timestamp >= since_ts, e.timestamp < until_ts, e.type_name.in_(SESSION_EVENT_TYPES))
              .subquery("marked"))
    m = marked.c
    started = func.min(case((m.type_name == "session_started", m.timestamp)))
    query = (
        select(
            m.sender_id,
            started.label("started"),
            func.max(m.timestamp).label("last_event"),
            func.sum(case((m.type_name == "user", 1), else_=0)).label("user_messages"),
            func.sum(case((and_(m.type_name == "active_loop", m.action_name.isnot(None)), 1), else_=0)),
            func.sum(case((and_(m.type_name == "active_loop", m.action_name.is_(None)), 1), else_=0)),
        )
        .group_by(m.sender_id, m.session_no)
        .having(and_(started >= since_ts, started < until_ts))
    )
    return [SessionRow(sender, float(start), float(last), int(users), int(opened or 0), int(closed or 0))
            for sender, start, last, users, opened, closed in connection.execute(query)]


def intents_by_day(connection: Connection, since_ts: float, until_ts: float) -> list[tuple[str, int, int]]:
    """(intent, China-time day number, user messages) for user messages sent in [since_ts, until_ts)."""
    e = EVENTS.c
    day = china_day(e.timestamp, connection.dialect.name).label("day")
    intent = func.coalesce(e.intent_name, literal_column("'(none)'")).label("intent")
    query = (select(intent, day, func.count().label("messages"))
             .where(e.type_name == "user", e.timestamp >= since_ts, e.timestamp < until_ts)
             .group_by(intent, day))
    return [(name, int(day_no), int(count)) for name, day_no, count in connection.execute(query)]


def count_events(connection: Connection) -> int:
    """Every row of the events table: the benchmark's floor (one full scan, no grouping)."""
    return int(connection.execute(select(func.count()).select_from(EVENTS)).scalar_one())
