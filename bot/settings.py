"""Settings from the environment, with the embedded defaults the README's run command uses."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """SQLite file under var/ by default; PostgreSQL with e.g. postgresql+psycopg2://user:pw@host/db."""
    return os.environ.get("AFTERSALES_DB_URL") or f"sqlite:///{PROJECT_ROOT / 'var' / 'aftersales.db'}"


def policy_dir() -> Path:
    return Path(os.environ.get("AFTERSALES_POLICY_DIR") or PROJECT_ROOT / "data" / "policy")


def jieba_dict_dir() -> Path:
    return PROJECT_ROOT / "data" / "jieba"
