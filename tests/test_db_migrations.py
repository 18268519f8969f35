"""Alembic builds the schema from nothing, exactly as the models describe it, and takes it down again."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.db import migrate
from bot.db.models import Base
from bot.db.session import make_engine

ROOT = Path(__file__).resolve().parent.parent


def _schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_from_empty_matches_the_models_and_downgrade_removes_everything(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(empty_db_url)
        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        assert migrate.current_revision(engine) == head
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        assert _schema_differences(engine) == []

        migrate.upgrade(empty_db_url)  # upgrading an up-to-date schema is a no-op
        assert migrate.current_revision(engine) == head

        migrate.downgrade(empty_db_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_the_migrations_have_a_single_head():
    assert len(ScriptDirectory.from_config(migrate.alembic_config()).get_heads()) == 1


def test_alembic_command_line_works_from_another_directory(tmp_path):
    """alembic.ini lives in bot/db and finds its scripts relative to itself, whatever the cwd."""
    env = {**os.environ, "AFTERSALES_DB_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PYTHONPATH": str(ROOT)}
    alembic = Path(sys.executable).with_name("alembic")
    result = subprocess.run([str(alembic), "-c", str(ROOT / "bot" / "db" / "alembic.ini"), "upgrade", "head"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    engine = make_engine(env["AFTERSALES_DB_URL"])
    assert "ledger_entries" in inspect(engine).get_table_names()
    engine.dispose()
