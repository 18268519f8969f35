"""Engines and sessions for the order database (SQLite file by default, PostgreSQL by URL).

Callers that must keep talking when the database is down (the actions, the web service) catch
`DatabaseUnavailable`; every connection failure surfaces as that one exception with a readable message.
"""
from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import database_url

# How long a SQLite writer waits for another writer's lock before giving up (seconds);
# AFTERSALES_SQLITE_BUSY_TIMEOUT_S overrides it.
SQLITE_BUSY_TIMEOUT_S = 30
PG_CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(RuntimeError):
    """The order database cannot be reached (server down, wrong URL, unreadable file)."""


class DatabaseBusy(DatabaseUnavailable):
    """The database is there but would not let this transaction through in time (SQLite "database is
    locked" past busy_timeout, a PostgreSQL deadlock or lock timeout). Callers answer it like an outage."""


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    """Foreign keys: SQLite ignores FOREIGN KEY clauses unless each connection asks for them.
    WAL journal: the action server, the web service and the CLI share one file; with WAL readers do not
    wait for a writer (and a writer does not wait for readers). Both are no-ops for :memory:."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """A new engine for `url` (default: bot.settings.database_url()). Does not connect yet."""
    url = url or database_url()
    backend = make_url(url).get_backend_name()
    options: dict = {"future": True}
    if backend == "sqlite":
        timeout = float(os.environ.get("AFTERSALES_SQLITE_BUSY_TIMEOUT_S") or SQLITE_BUSY_TIMEOUT_S)
        options["connect_args"] = {"timeout": timeout, "check_same_thread": False}
        if sqlite_file(url) is not None:
            # SQLAlchemy 1.4 gives a SQLite file NullPool: every session opened and configured (PRAGMAs) a
            # new connection, 1-2 ms of each action and copilot call. A pool reuses them; WAL lets pooled
            # readers see other processes' commits at their next statement.
            options["poolclass"] = QueuePool
    elif backend == "postgresql":
        options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        options["pool_pre_ping"] = True
    options.update(kwargs)
    engine = create_engine(url, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """One shared engine (and connection pool) per URL for the life of the process."""
    url = url or database_url()
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests, and forked worker processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def check_connection(engine: Engine) -> None:
    """Connect once and run `SELECT 1`; raise DatabaseUnavailable with a one-line reason if that fails."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(engine, exc) from exc


def unavailable(engine: Engine, exc: Exception) -> DatabaseUnavailable:
    """DatabaseUnavailable naming the (password-less) URL and the driver's first line of complaint."""
    driver_message = str(getattr(exc, "orig", None) or exc).strip()
    reason = driver_message.splitlines()[0] if driver_message else type(exc).__name__
    return DatabaseUnavailable(f"database unavailable at {describe_url(str(engine.url))}: {reason}")


# One sessionmaker per engine: SQLAlchemy 1.4's sessionmaker() builds a Session subclass (and its event
# dispatch) each time it is called, a tenth of a millisecond that every service call paid before its first query.
_factories: "weakref.WeakKeyDictionary[Engine, sessionmaker]" = weakref.WeakKeyDictionary()


def session_factory(engine_or_url: Engine | str | None = None) -> sessionmaker:
    engine = engine_or_url if isinstance(engine_or_url, Engine) else get_engine(engine_or_url)
    with _engines_lock:
        factory = _factories.get(engine)
        if factory is None:
            factory = _factories[engine] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return factory


@contextmanager
def session_scope(engine_or_url: Engine | str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    A failure to connect (at the first statement) comes out as DatabaseUnavailable; other database errors
    (constraint violations ...) pass through unchanged.
    """
    factory = session_factory(engine_or_url)
    session = factory()
    try:
        yield session
        session.commit()
    except (OperationalError, InterfaceError) as exc:
        session.rollback()
        if _is_connection_failure(exc):
            raise unavailable(session.get_bind(), exc) from exc
        if _is_busy(exc):
            raise DatabaseBusy(f"database busy at {describe_url(str(session.get_bind().url))}: "
                               f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _is_connection_failure(exc: Exception) -> bool:
    """OperationalError also covers "database is locked" and friends; those are not an unreachable DB."""
    if getattr(exc, "connection_invalidated", False):
        return True
    message = str(getattr(exc, "orig", exc)).lower()
    markers = ("could not connect", "connection refused", "unable to open database", "server closed",
               "could not translate host", "timeout expired", "connection to server", "terminating connection",
               "no such host", "password authentication failed", "does not exist")
    return any(marker in message for marker in markers)


def _is_busy(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return any(marker in message for marker in ("database is locked", "database table is locked", "deadlock detected",
                                                  "lock timeout", "could not obtain lock"))


def sqlite_file(url: str) -> Path | None:
    """The file behind a sqlite URL (None for other backends and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)
