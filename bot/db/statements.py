"""Statements the hot path runs on every turn, built once at import.

Building a SQLAlchemy statement (select(...).where(...), insert(...).on_conflict_do_nothing(...)) costs more
Python time than SQLite needs to run it: about 0.1 ms to build against 0.03 ms to execute a prepared column
read. The after-sales turn runs a few dozen statements, so the ones it runs every time are built here once,
with bound parameters, and executed with a dict of values. Statement objects are immutable once built, so one
object serves every thread and session.

`InsertOnce` is an INSERT that adds nothing when a unique key already holds a row (the ledger's idempotency
key, one settlement per case, one receipt per buyer message): ON CONFLICT DO NOTHING on SQLite and PostgreSQL,
a savepoint around a plain INSERT elsewhere.
"""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

ON_CONFLICT_DIALECTS = ("sqlite", "postgresql")


class InsertOnce:
    """INSERT ... ON CONFLICT (`unique_columns`) DO NOTHING for one table, per dialect, built once."""

    def __init__(self, table: Table, unique_columns: Sequence[str]):
        self.table = table
        self._by_dialect = {
            "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=list(unique_columns)),
            "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=list(unique_columns)),
        }
        self._plain = table.insert()

    def __call__(self, session: Session, row: dict) -> bool:
        """Insert `row` unless its unique key is taken; True if this call inserted it."""
        dialect = session.get_bind().dialect.name
        statement = self._by_dialect.get(dialect) if dialect in ON_CONFLICT_DIALECTS else None
        if statement is not None:
            return session.execute(statement, row).rowcount == 1
        try:
            with session.begin_nested():
                session.execute(self._plain, row)
            return True
        except IntegrityError:
            return False
