"""Migration 0012 gives the orders table what a manual order records (order type, limit price,
time in force, base-unit size, name): every order recorded before is a market order, nothing
else of it changes; the downgrade takes the columns away again. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import MetaData, create_engine, select

from config.settings import sync_url
from db.migrate import alembic_config, upgrade
from tests.api.test_round_trips_migration import _rows
from tests.conftest import _sqlite_url
from tests.support import postgres

NEW_COLUMNS = {"order_type", "limit_price", "time_in_force", "size_base", "name"}


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest) -> str:
    """A database at revision 0011 holding market orders."""
    if request.param == "sqlite":
        url = _sqlite_url().replace("/test.db", "/old.db")
    else:
        url = postgres.create_database(request.getfixturevalue("pg_server"))
    upgrade(url, "0011")
    engine = create_engine(sync_url(url))
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as c:
        for table, rows in _rows(meta).items():
            c.execute(meta.tables[table].insert(), rows)
    engine.dispose()
    return url


def _orders(url: str) -> list[dict]:
    engine = create_engine(sync_url(url))
    meta = MetaData()
    meta.reflect(engine, only=["orders"])
    table = meta.tables["orders"]
    with engine.connect() as c:
        found = [dict(r._mapping) for r in c.execute(select(table).order_by("client_order_id"))]
    engine.dispose()
    return found


def test_existing_orders_become_market_orders_and_the_downgrade_drops_the_columns(
    old_database: str,
) -> None:
    before = _orders(old_database)
    upgrade(old_database, "0012")
    after = _orders(old_database)
    assert [o["order_type"] for o in after] == ["market"] * len(before) and before
    for old, new in zip(before, after, strict=True):
        assert {k: new[k] for k in old} == old  # nothing else changed
        assert all(new[k] is None for k in NEW_COLUMNS - {"order_type"})
    command.downgrade(alembic_config(old_database), "0011")
    assert _orders(old_database) == before
