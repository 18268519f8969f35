"""Reading Rasa's SQL tracker store without Rasa.

Rasa's SQLTrackerStore keeps one row per event in a table `events` (rasa/core/tracker_store.py,
SQLTrackerStore.SQLEvent): id, sender_id, type_name, timestamp (epoch seconds, float), intent_name (user
events), action_name (the event's "name": the action, the slot or the form), data (the event as JSON).
`EVENTS` below mirrors it column for column, so the history generator can write rows Rasa reads back
and the report can aggregate them with plain SQL.

A conversation is a Rasa dialogue session: it starts at a `session_started` event and lasts until the
sender's next one (found with the window function LEAD: SQLite >= 3.25, PostgreSQL).
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
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


# Indexes the report reads the tracker store through (Rasa's schema only indexes sender_id); both cover
# their queries, so the JSON `data` column is never read:
# - by sender: each session's start, then one index seek per session for its user messages and its last
#   form event (SQLite keeps the rowid, Rasa's `id`, at the end of every index entry: ties sort by id);
# - by time: the buyer messages of the period, for the intent counts.
REPORT_INDEXES = (
    Index("ix_events_report_sender", EVENTS.c.type_name, EVENTS.c.sender_id, EVENTS.c.timestamp,
          EVENTS.c.action_name),
    Index("ix_events_report_time", EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name),
)

SECONDS_PER_DAY = 86400
CHINA_OFFSET_S = 8 * 3600


class SessionRow(NamedTuple):
    """One conversation as the tracker store saw it (a NamedTuple: 100,000 of them are built per report)."""

    sender_id: str
    started: float  # epoch seconds of its session_started event
    has_user_message: bool
    ended_inside_form: bool  # its last form event opened a form: the bot was still asking for something


def day_number(timestamp: float) -> int:
    """Days since 1970-01-01 in China time: the same as `china_day` computes in SQL."""
    return int((timestamp + CHINA_OFFSET_S) // SECONDS_PER_DAY)


def has_events_table(engine: Engine) -> bool:
    """False for a missing file, an empty database or an unreachable server: the report then says so."""
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("events")
    except (OperationalError, ProgrammingError):
        return False


def missing_report_indexes(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        present = {index["name"] for index in inspect(connection).get_indexes("events")}
    return [index.name for index in REPORT_INDEXES if index.name not in present]


def ensure_report_indexes(engine: Engine) -> list[str]:
    """Create the report's indexes on Rasa's events table where missing; returns the names created.
    Rasa does not mind extra indexes (its inserts get slightly slower; its reads are by sender_id)."""
    missing = missing_report_indexes(engine)
    for index in REPORT_INDEXES:
        if index.name in missing:
            index.create(engine)
    return missing


def china_day(timestamp: ColumnElement, dialect_name: str) -> ColumnElement:
    """Days since 1970-01-01 in China time, as an integer (floor of a positive number)."""
    shifted = (timestamp + CHINA_OFFSET_S) / SECONDS_PER_DAY
    if dialect_name == "sqlite":  # CAST truncates, which is floor for positive values
        return cast(shifted, Integer)
    return cast(func.floor(shifted), Integer)


def sessions(connection: Connection, since_ts: float, until_ts: float) -> list[SessionRow]:
    """The sessions that started in [since_ts, until_ts). A session runs until the sender's next
    session_started (or until_ts): the caller passes an `until_ts` past the period (a tail) and keeps the
    sessions it wants, since a later session still bounds the one before it.

    Per session the database answers two index seeks: is there a buyer message in it, and did its last
    form event open a form (active_loop with a name) rather than close one (active_loop without)."""
    e = EVENTS.c
    starts = (select(e.sender_id, e.timestamp.label("started"),
                     func.lead(e.timestamp).over(partition_by=e.sender_id, order_by=e.timestamp).label("next_start"))
              .where(e.type_name == "session_started", e.timestamp >= since_ts, e.timestamp < until_ts)
              .subquery("starts"))
    s = starts.c
    inner = EVENTS.alias("inner_events")
    i = inner.c
    in_session = and_(i.sender_id == s.sender_id, i.timestamp >= s.started,
                      i.timestamp < func.coalesce(s.next_start, until_ts))
    has_user = select(i.id).where(i.type_name == "user", in_session).limit(1).exists()
    last_form = (select(i.action_name).where(i.type_name == "active_loop", in_session)
                 .order_by(i.timestamp.desc(), i.id.desc()).limit(1).scalar_subquery())
    query = select(s.sender_id, s.started, has_user, last_form.isnot(None))
    return [SessionRow(sender, float(started), bool(user), bool(form))
            for sender, started, user, form in connection.execute(query)]


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
