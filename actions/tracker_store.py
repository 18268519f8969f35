"""Rasa's SQLTrackerStore made to survive a database restart, for the scaled stack (endpoints.scaled.yml).

Two gaps in Rasa Open Source 3.6's own store, seen in tests/test_scaled_faults.py (PostgreSQL stopped and
started again):

- Its engine has no `pool_pre_ping` and Rasa offers no setting for one (with `login_db` it even rebuilds the
  engine without its own pool options). After a restart every pooled connection is dead, and the first
  query of each Rasa instance fails with "server closed the connection unexpectedly". Here the engine
  pings a pooled connection before lending it, and replaces it when the ping fails.
- Rasa wraps every tracker store in FailSafeTrackerStore, which turns a failed read into "no tracker": the
  buyer's message is then processed as the first message of a new conversation (a greeting instead of the
  refund the buyer was agreeing to), and the result is saved to an in-memory fallback — or, when the
  database is back by then and the stored session is shorter than that fresh turn, the turn's tail is
  appended to the real conversation (Rasa saves the events past the stored count). Here a
  failed read gives a stand-in tracker that is paused: Rasa runs no action for it, the channel returns no
  reply (the web service tells the buyer to send again shortly), and the stand-in is never saved.

`tracker_store: {type: actions.tracker_store.ReconnectingSQLTrackerStore, dialect: postgresql, ...}` takes
the same settings as Rasa's `type: SQL`.

On SQLite (the single-process stack of `make run`, the conversation suites and the benchmark) it also keeps
its connections: SQLAlchemy 1.4 gives a SQLite file NullPool, so Rasa's store opened a new connection for each
read and each save of every message, and committed in the rollback-journal mode (several fsyncs a save).
Here the connections are pooled and the file is in WAL mode, as the shop database is (bot/db/session.py).

Saving writes a message's new events with one multi-row INSERT instead of Rasa's ORM object per event (the
same rows; on PostgreSQL the ORM sent one INSERT per event to get each id back).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

# A failed read of these kinds means "the database is not reachable now", worth "send again shortly".
# Anything else (a bug, a corrupt row) still goes to Rasa's own handling.
UNREACHABLE_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


class UnavailableTracker(DialogueStateTracker):
    """Stands in for a conversation whose stored tracker could not be read. Paused, so Rasa predicts
    nothing for it; ReconnectingSQLTrackerStore never saves it."""

    def __init__(self, sender_id: Text, domain: Domain) -> None:
        super().__init__(sender_id, domain.slots)
        self.update(ConversationPaused())


def sqlite_engine(url: sa.engine.URL) -> sa.engine.Engine:
    """A pooled engine on a SQLite file in WAL mode. Rasa calls its store from the event loop's thread only,
    but a pool may hand a connection to another thread than the one that made it: SQLite must allow that."""
    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=8,
                              connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _wal(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


class ReconnectingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Optional[Domain] = None, **kwargs: Any) -> None:
        super().__init__(domain=domain, **kwargs)  # waits for the database, creates it and the table
        self._replace_engine_with_pre_ping()

    def _replace_engine_with_pre_ping(self) -> None:
        """The same URL and Rasa's pool options (SQL_POOL_SIZE, SQL_MAX_OVERFLOW, POSTGRESQL_SCHEMA), plus a
        ping at checkout: one round trip per session, paid so a restart costs no buyer message."""
        old = self.engine
        if old.url.get_backend_name() == "sqlite" and old.url.database not in (None, "", ":memory:"):
            self.engine = sqlite_engine(old.url)
        else:
            self.engine = sa.create_engine(old.url, pool_pre_ping=True, **create_engine_kwargs(old.url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        old.dispose()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve(sender_id)
        except UNREACHABLE_ERRORS as error:
            logger.error(f"Tracker of '{sender_id}' unreadable, the message is not processed: "
                         f"{str(getattr(error, 'orig', None) or error).strip().splitlines()[0]}")
            return UnavailableTracker(sender_id, self.domain)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if isinstance(tracker, UnavailableTracker):
            # Its events describe a conversation that was never read: writing them would append a stranger's
            # turn to the stored one. The buyer's message is simply not taken, and the buyer is told so.
            logger.warning(f"Not saving the stand-in tracker of '{tracker.sender_id}' (database was unreachable)")
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [event_row(tracker.sender_id, event) for event in self._additional_events(session, tracker)]
            if rows:  # one INSERT for all of them (Rasa adds an ORM object per event: a round trip each on PostgreSQL)
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()


def event_row(sender_id: Text, event: Any) -> dict:
    """The row Rasa's SQLTrackerStore.save stores for an event (same columns, same values)."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}
