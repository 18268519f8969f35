"""actions/tracker_store.py against a real PostgreSQL server (a throwaway cluster on a free port, started and
stopped with bot/scaled.py's own helpers; skipped without PostgreSQL unless REQUIRE_SCALED=1). The store is
loaded by module path and wrapped in FailSafeTrackerStore, as Rasa's Agent does."""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bot.convtest.stack import StackError, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    from bot.scaled import ScaledStack, _pg_bin

    try:
        _pg_bin("initdb")
    except StackError:
        if os.environ.get("REQUIRE_SCALED") == "1":
            pytest.fail("REQUIRE_SCALED=1 but PostgreSQL is not installed", pytrace=False)
        pytest.skip("PostgreSQL not installed")
    workdir = Path(tempfile.mkdtemp(prefix="aftersales-trackers-"))  # the postgres user must reach it
    os.chmod(workdir, 0o755)
    server = ScaledStack(workdir, {"pg": free_port()}, model=Path("unused"))
    server.start("postgres")
    try:
        yield server
    finally:
        server.stop_postgres()
        shutil.rmtree(workdir, ignore_errors=True)


def _store(postgres, database: str):
    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(url="127.0.0.1", type="actions.tracker_store.ReconnectingSQLTrackerStore",
                            dialect="postgresql", port=str(postgres.ports["pg"]), username="postgres",
                            db=database, login_db="postgres")
    return FailSafeTrackerStore(TrackerStore.create(config, domain=Domain.empty()))


def _conversation(sender_id: str):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
              UserUttered("瓶子碎了"), BotUttered("麻烦拍张照片"), ActionExecuted("action_listen"),
              UserUttered("照片发您了"), BotUttered("给您补偿2元，可以吗？"), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(sender_id, events, slots=[])


def _texts(tracker) -> list[str]:
    return [getattr(e, "text", None) for e in tracker.events if getattr(e, "text", None)]


def _restart(postgres) -> None:
    postgres.stop_postgres(check=True)  # immediate: every pooled connection dies, as in a crash
    postgres.start("postgres")


def test_rasa_loads_it_and_its_engine_pings_before_lending_a_connection(postgres):
    store = _store(postgres, "trackers_a")
    assert type(store._tracker_store).__name__ == "ReconnectingSQLTrackerStore"
    assert store._tracker_store.engine.pool._pre_ping


def test_the_first_read_after_a_postgresql_restart_gets_the_conversation(postgres):
    store = _store(postgres, "trackers_b")
    asyncio.run(store.save(_conversation("b_restart")))
    assert len(_texts(asyncio.run(store.retrieve("b_restart")))) == 4  # a connection now sits in the pool
    _restart(postgres)
    # Rasa's own store fails here ("server closed the connection unexpectedly"), and FailSafeTrackerStore
    # turns that into None: the buyer's next message would start a new conversation.
    tracker = asyncio.run(store.retrieve("b_restart"))
    assert tracker is not None and _texts(tracker)[-1] == "给您补偿2元，可以吗？"


def test_postgresql_down_pauses_the_turn_and_nothing_is_written_when_it_is_back(postgres):
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import UserUttered

    store = _store(postgres, "trackers_c")
    asyncio.run(store.save(_conversation("b_down")))
    postgres.stop_postgres(check=True)
    try:
        # what Rasa's processor asks for, then does with the answer
        tracker = asyncio.run(store.get_or_create_tracker("b_down", append_action_listen=False))
        tracker.update(UserUttered("好的"))
        assert not MessageProcessor._should_handle_message(tracker)  # no action runs, nothing is paid
    finally:
        postgres.start("postgres")
    asyncio.run(store.save(tracker))  # the database is back before Rasa saves the turn
    stored = asyncio.run(store.retrieve("b_down"))
    assert _texts(stored) == _texts(_conversation("b_down"))  # not a stranger's events, not a half turn
    assert not stored.is_paused()


# ------------------------------------------------------------------ SQLite (no server needed)

def _sqlite_store(path: Path):
    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(type="actions.tracker_store.ReconnectingSQLTrackerStore", dialect="sqlite", db=str(path))
    return FailSafeTrackerStore(TrackerStore.create(config, domain=Domain.empty()))


def test_on_sqlite_the_store_keeps_its_connections_and_the_file_is_in_wal_mode(tmp_path):
    import sqlalchemy as sa

    store = _sqlite_store(tmp_path / "tracker.db")._tracker_store
    assert isinstance(store.engine.pool, sa.pool.QueuePool)  # Rasa's own engine on a SQLite file: NullPool
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_on_sqlite_a_conversation_saved_turn_by_turn_reads_back_whole(tmp_path):
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    store = _sqlite_store(tmp_path / "tracker.db")
    tracker = _conversation("b_sqlite")
    asyncio.run(store.save(tracker))
    tracker.update_with_events([UserUttered("好的"), BotUttered("已为您登记"), ActionExecuted("action_listen")], None)
    asyncio.run(store.save(tracker))  # only the new events are added
    again = _sqlite_store(tmp_path / "tracker.db")  # a second Rasa process on the same file
    assert _texts(asyncio.run(again.retrieve("b_sqlite"))) == _texts(tracker)
    assert len(asyncio.run(again.retrieve("b_sqlite")).events) == len(tracker.events)


def _stored_rows(path: Path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                                  "FROM events ORDER BY id").fetchall()


def test_its_one_insert_per_save_stores_the_rows_rasas_own_store_stores(tmp_path):
    # the same conversation through Rasa's SQLTrackerStore and through ours, as Rasa runs a turn (read the
    # tracker, add the turn's events, save): identical rows
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    rasa_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "rasa.db"))
    ours = _sqlite_store(tmp_path / "ours.db")
    opening = _conversation("b_rows")  # the same events (and timestamps) for both stores
    turn = [UserUttered("好的", intent={"name": "affirm", "confidence": 0.9}), ActionExecuted("action_accept_offer"),
            BotUttered("已为您登记"), ActionExecuted("action_listen")]
    for store in (rasa_store, ours):
        asyncio.run(store.save(opening))
        tracker = asyncio.run(store.retrieve("b_rows"))
        tracker.update_with_events(turn, None, override_timestamp=False)
        asyncio.run(store.save(tracker))
        asyncio.run(store.save(tracker))  # nothing new: nothing added
    rows = _stored_rows(tmp_path / "ours.db")
    assert rows == _stored_rows(tmp_path / "rasa.db")
    assert [row[1] for row in rows[-4:]] == ["user", "action", "bot", "action"] and len(rows) == 9 + 4
