"""Ids are never reused after a delete, on SQLite and PostgreSQL alike.

SQLite gave the highest deleted id to the next row: a decision recorded `binding_id: 6`, the
binding was deleted, and the next binding became 6, so the old decision named it (issue 19).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from db.migrate import upgrade
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url)) as stack:
        yield stack


async def test_a_deleted_bindings_id_is_not_given_to_the_next(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    prog = (await st.create_program(programs.HOLD))["id"]
    first = (await st.bind(tid, prog))["id"]
    r = await st.api.delete(f"/api/account/{tid}/bindings/{first}")
    assert r.status_code in (200, 204), r.text
    second = (await st.bind(tid, prog))["id"]
    assert second > first


async def test_a_deleted_programs_id_is_not_given_to_the_next(st: Stack) -> None:
    first = (await st.create_program(programs.HOLD, "a"))["id"]
    r = await st.api.delete(f"/api/programs/{first}")
    assert r.status_code in (200, 204), r.text
    second = (await st.create_program(programs.HOLD, "b"))["id"]
    assert second > first


def test_an_upgraded_sqlite_database_stops_reusing_ids(tmp_path: Path) -> None:
    """A database created before migration 0008 becomes AUTOINCREMENT, rows kept."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    db = sqlite3.connect(tmp_path / "old.db")
    insert = (
        "INSERT INTO programs (name, description, code, enabled, created_at, updated_at) "
        "VALUES (?, '', 'x', 1, '2026-01-01', '2026-01-01')"
    )
    db.executemany(insert, [("a",), ("b",)])
    db.commit()
    db.close()
    upgrade(url)
    db = sqlite3.connect(tmp_path / "old.db")
    assert [r[0] for r in db.execute("SELECT name FROM programs ORDER BY id")] == ["a", "b"]
    db.execute("DELETE FROM programs WHERE id = 2")
    db.execute(insert, ("c",))
    assert db.execute("SELECT id FROM programs WHERE name = 'c'").fetchone() == (3,)
    db.close()
