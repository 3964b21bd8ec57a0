"""Upgrading a data dir from before users (0004 -> 0005): old rows go to the first user."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from api.users_store import create_user
from config.settings import async_url, sync_url
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from tests.conftest import _sqlite_url
from tests.support import postgres

OWNED = ("accounts", "programs", "prompts", "signal_definitions", "signal_pools")
NOW = "2026-11-01 00:00:00"


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest) -> str:
    """A database at revision 0004 with one row in every table that gets an owner."""
    if request.param == "sqlite":
        url = _sqlite_url().replace("/test.db", "/old.db")
    else:
        url = postgres.create_database(request.getfixturevalue("pg_server"))
    upgrade(url, "0004")
    engine = create_engine(sync_url(url))
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO accounts (name, description, account_type, exchange, "
                "initial_capital, max_leverage, max_position_notional_usd, "
                "max_concurrent_positions, symbols, show_on_dashboard, trading_enabled, status, "
                "is_deleted, created_at, updated_at) VALUES ('old', '', 'program', 'paper', "
                "10000, 5, 1000, 3, '[\"BTC\"]', true, false, 'Paused', false, :t, :t)"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO programs (name, description, code, enabled, created_at, updated_at)"
                " VALUES ('old', '', 'x', true, :t, :t)"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO prompts (name, content, created_at, updated_at)"
                " VALUES ('old', 'x', :t, :t)"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO signal_definitions (name, spec, enabled, created_at, updated_at)"
                " VALUES ('old', '{}', true, :t, :t)"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO signal_pools (name, symbols, signal_ids, logic, cooldown_seconds,"
                " enabled, created_at, updated_at)"
                " VALUES ('old', '[\"BTC\"]', '[1]', 'and', 0, false, :t, :t)"
            ),
            {"t": NOW},
        )
    engine.dispose()
    return url


def owners(url: str) -> dict[str, list[int | None]]:
    engine = create_engine(sync_url(url))
    with engine.connect() as c:
        found = {
            t: [r[0] for r in c.execute(text(f"SELECT owner_id FROM {t} ORDER BY id"))]
            for t in OWNED
        }
    engine.dispose()
    return found


async def test_upgrade_keeps_old_rows_for_the_first_user(old_database: str) -> None:
    upgrade(old_database)
    assert owners(old_database) == {t: [None] for t in OWNED}  # nobody sees them yet
    engine = make_engine(async_url(old_database))
    try:
        async with make_sessionmaker(engine)() as s:
            first = await create_user(s, "admin@localhost", "first-password")
        async with make_sessionmaker(engine)() as s:
            second = await create_user(s, "later@example.com", "later-password")
    finally:
        await engine.dispose()
    assert owners(old_database) == {t: [first.id] for t in OWNED}
    assert second.id != first.id  # and the later user claimed nothing
