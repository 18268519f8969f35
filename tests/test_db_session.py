"""A database that cannot be reached is one clear exception (and one clear line from the CLI)."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import text

from bot.db import cli
from bot.db.models import Buyer
from bot.db.session import DatabaseUnavailable, check_connection, make_engine, session_scope


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _unreachable(kind: str, tmp_path) -> str:
    if kind == "postgres-down":
        return f"postgresql+psycopg2://nobody:secret@127.0.0.1:{_closed_port()}/aftersales"
    return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"


@pytest.fixture(params=["postgres-down", "sqlite-unopenable"])
def unreachable_url(request, tmp_path) -> str:
    return _unreachable(request.param, tmp_path)


def test_check_connection_raises_database_unavailable(unreachable_url):
    with pytest.raises(DatabaseUnavailable, match="database unavailable at") as caught:
        check_connection(make_engine(unreachable_url))
    assert "secret" not in str(caught.value)  # the password never reaches a message or a log


def test_session_scope_raises_database_unavailable(unreachable_url):
    with pytest.raises(DatabaseUnavailable):
        with session_scope(make_engine(unreachable_url)) as session:
            session.get(Buyer, "b_demo_1")


# upgrade/seed create a SQLite file's folder (a fresh checkout has no var/), so only `demo` sees it as down.
@pytest.mark.parametrize("kind, command", [("postgres-down", "demo"), ("postgres-down", "upgrade"),
                                           ("postgres-down", "seed"), ("sqlite-unopenable", "demo")])
def test_cli_prints_one_line_and_fails(kind, command, capsys, tmp_path):
    assert cli.main(["--url", _unreachable(kind, tmp_path), command]) == cli.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bot db: database unavailable at"), err


def test_other_errors_are_not_disguised_as_unavailable(db_url):
    with pytest.raises(Exception) as caught:
        with session_scope(make_engine(db_url)) as session:
            session.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, DatabaseUnavailable)


def test_session_scope_commits_on_success_and_rolls_back_on_error(db_url):
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        session.add(Buyer(id="b_kept", platform="pdd", credit_tier=""))
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.add(Buyer(id="b_dropped", platform="pdd", credit_tier=""))
            session.flush()
            raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert session.get(Buyer, "b_kept") is not None and session.get(Buyer, "b_dropped") is None
    engine.dispose()


def test_sqlite_files_are_pooled_and_a_pooled_reader_sees_other_writers(tmp_path):
    from sqlalchemy.pool import QueuePool

    from bot.db import migrate

    url = f"sqlite:///{tmp_path / 'pooled.db'}"
    migrate.upgrade(url)
    reader, writer = make_engine(url), make_engine(url)  # two engines: two processes, as far as SQLite knows
    assert isinstance(reader.pool, QueuePool)
    assert not isinstance(make_engine("sqlite://").pool, QueuePool)  # in-memory keeps SQLAlchemy's own pool
    with session_scope(reader) as session:
        assert session.get(Buyer, "b_later") is None  # the connection goes back to the pool, still open
    with session_scope(writer) as session:
        session.add(Buyer(id="b_later", platform="pdd", credit_tier=""))
    with session_scope(reader) as session:  # the same pooled connection, not a stale snapshot
        assert session.get(Buyer, "b_later") is not None
    assert reader.pool.checkedin() == 1
    reader.dispose()
    writer.dispose()
