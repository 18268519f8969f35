"""Alembic, driven from Python: the CLI, the tests and `make run` upgrade the schema through here."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.db.session import make_engine, unavailable

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logging"] = False
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema at `url` (default: the configured database) up to `revision`."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | None = None, revision: str = "base") -> None:
    _run(url, lambda config: command.downgrade(config, revision))


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _run(url: str | None, step) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            step(config)
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(engine, exc) from exc
    finally:
        engine.dispose()
