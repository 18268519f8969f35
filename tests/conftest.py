"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

- `db_url`: a migrated database (schema at Alembic head) with no rows, once per backend:
  SQLite is a copy of a migrated temp file; PostgreSQL is one migrated database per pytest worker,
  emptied before each test (CREATE DATABASE per test would cost ~0.5 s).
- `module_db_url`: like `db_url` but shared by the tests of one module (read-only tests over seeded data).
- `empty_db_url`: a fresh database with no schema at all (for the migration tests).
- `db_session`: a session on `db_url`; rolled back and closed after the test.

PostgreSQL comes from AFTERSALES_TEST_PG_URL (e.g. `export AFTERSALES_TEST_PG_URL=$(scripts/start_test_postgres.sh)`).
Without it the postgres variants are skipped, unless REQUIRE_PG=1, which turns the skip into a failure
(CI sets it, so a broken PostgreSQL set-up cannot pass silently).
Other test files keep their own fixtures; this file is only about the database.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import migrate
from bot.db.models import Base
from bot.db.session import make_engine, session_factory

PG_ENV = "AFTERSALES_TEST_PG_URL"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _require_pg() -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    message = f"{PG_ENV} is not set (start a server with: export {PG_ENV}=$(scripts/start_test_postgres.sh))"
    if os.environ.get("REQUIRE_PG") == "1":
        pytest.fail("REQUIRE_PG=1 but " + message, pytrace=False)
    pytest.skip(message)


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server, named per pytest worker."""

    def __init__(self, server_url: str, worker: str) -> None:
        self.server_url = server_url
        self.prefix = f"t_{worker}_{uuid.uuid4().hex[:6]}"
        self.admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
        self.migrated: str | None = None

    def url_for(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def migrated_empty(self) -> str:
        """The worker's migrated database, emptied (DELETE, children first: on a few rows it is ~10x
        faster than TRUNCATE, which takes ~170 ms; tests do not rely on ids restarting)."""
        if self.migrated is None:
            name = self.create()
            migrate.upgrade(self.url_for(name))
            self.migrated = name
        engine = make_engine(self.url_for(self.migrated))
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        engine.dispose()
        return self.url_for(self.migrated)


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[PostgresDatabases | None]:
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    databases = PostgresDatabases(url, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield databases
    if databases.migrated:
        databases.drop(databases.migrated)
    databases.admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, _sqlite_template, _pg_databases) -> Iterator[str]:
    """A fresh database at the current schema, no rows."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    _require_pg()
    yield _pg_databases.migrated_empty()


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request, tmp_path_factory, _sqlite_template, _pg_databases) -> Iterator[str]:
    """A migrated database shared by one test module (for read-only tests over expensive data)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "store.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    _require_pg()
    name = _pg_databases.create()
    migrate.upgrade(_pg_databases.url_for(name))
    yield _pg_databases.url_for(name)
    _pg_databases.drop(name)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request, tmp_path, _pg_databases) -> Iterator[str]:
    """A fresh database without any schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    _require_pg()
    name = _pg_databases.create()
    yield _pg_databases.url_for(name)
    _pg_databases.drop(name)


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine):
    session = session_factory(db_engine)()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def make_order(db_session):
    """Build a buyer (if new) and a signed order with the given items: make_order("b1", "100000000001",
    items=[("SKU", "20.00", 1, "glass")], tier="3"). Flushed, not committed."""
    from datetime import timedelta

    from bot.clock import now_cn
    from bot.db.models import Buyer, Order, OrderItem, Shipment, Shop
    from bot.money import yuan_to_fen

    def build(buyer_id: str, number: str, items=(("GL-1", "20.00", 1, "glass"),), tier: str = "3",
              platform: str = "tmall", status: str = "signed", **order_fields) -> Order:
        shop = db_session.query(Shop).filter_by(code="test_shop").one_or_none()
        if shop is None:
            shop = Shop(code="test_shop", name="测试店", platform=platform)
            db_session.add(shop)
        if db_session.get(Buyer, buyer_id) is None:
            db_session.add(Buyer(id=buyer_id, platform=platform, credit_tier=tier))
        now = now_cn()
        order = Order(order_number=number, shop=shop, buyer_id=buyer_id, platform=platform, status=status,
                      paid_at=now - timedelta(days=3), ship_by=now, **order_fields)
        for sku, price, qty, category in items:
            order.items.append(OrderItem(sku=sku, title=f"商品{sku}", category=category, qty=qty,
                                         unit_price_fen=yuan_to_fen(price), paid_fen=yuan_to_fen(price) * qty))
        if status == "signed":
            order.shipments.append(Shipment(courier="中通快递", waybill=f"ZT{number}", status="signed",
                                            shipped_at=now - timedelta(days=2), signed_at=now - timedelta(days=1),
                                            signed_by="buyer"))
        db_session.add(order)
        db_session.flush()
        return order

    return build
