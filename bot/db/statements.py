"""Statements the hot path runs on every turn, built once at import.

Building a SQLAlchemy statement (select(...).where(...), insert(...).on_conflict_do_nothing(...)) costs more
Python time than SQLite needs to run it: about 0.1 ms to build against 0.03 ms to execute a prepared column
read. The after-sales turn runs a few dozen statements, so the ones it runs every time are built here once,
with bound parameters, and executed with a dict of values. Statement objects are immutable once built, so one
object serves every thread and session.

`InsertOnce` is an INSERT that adds nothing when a unique key already holds a row (the ledger's idempotency
key, one settlement per case, one receipt per buyer message): ON CONFLICT DO NOTHING on SQLite and PostgreSQL,
a savepoint around a plain INSERT elsewhere. Table and column names come from the models, never from input.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Sequence, Tuple

from sqlalchemy import Table, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

ON_CONFLICT_DIALECTS = ("sqlite", "postgresql")


class InsertOnce:
    """INSERT ... ON CONFLICT (`unique_columns`) DO NOTHING into one table, built once per set of columns.

    Written as text() with typed bound parameters rather than with the dialects' insert().on_conflict_do_nothing():
    SQLAlchemy 1.4 cannot cache the compiled form of those ("no key" in its echo log), so each execution compiled
    the statement again. The SQL is the same on SQLite (3.24+) and PostgreSQL (9.5+); the column types still
    convert the values (AwareDateTime stores UTC)."""

    def __init__(self, table: Table, unique_columns: Sequence[str], *, returning: Optional[str] = None):
        """`returning`: a column (the primary key) whose value the call returns for a new row (None when the
        key was taken), instead of True/False."""
        self.table = table
        self.unique_columns = tuple(unique_columns)
        self.returning = returning
        self._plain = table.insert()
        self._statements: Dict[Tuple[str, ...], TextClause] = {}
        self._lock = threading.Lock()

    def statement(self, columns: Tuple[str, ...]) -> TextClause:
        with self._lock:
            built = self._statements.get(columns)
            if built is None:
                built = self._statements[columns] = self._build(columns)
            return built

    def _build(self, columns: Tuple[str, ...]) -> TextClause:
        table = self.table
        unknown = [name for name in columns if name not in table.c]
        if unknown:
            raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + name for name in columns)}) "
               f"ON CONFLICT ({', '.join(self.unique_columns)}) DO NOTHING")
        if self.returning:
            sql += f" RETURNING {self.returning}"  # SQLite 3.35+, PostgreSQL
        return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))

    def __call__(self, session: Session, row: dict) -> Any:
        """Insert `row` unless its unique key is taken: True if this call inserted it, else False; with
        `returning`, the new row's value of that column, else None."""
        if session.get_bind().dialect.name in ON_CONFLICT_DIALECTS:
            result = session.execute(self.statement(tuple(row)), row)
            return result.scalar_one_or_none() if self.returning else result.rowcount == 1
        try:
            with session.begin_nested():
                result = session.execute(self._plain, row)
        except IntegrityError:
            return None if self.returning else False
        return result.inserted_primary_key[0] if self.returning else True
