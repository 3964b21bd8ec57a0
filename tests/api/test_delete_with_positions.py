"""Deleting a trader that holds positions: refused unless the request says what to do with them.

It used to answer 200 and leave the positions unwatched: no TP/SL checks, no reconciliation.
Now it is a 409 listing them, unless `?positions=close` (closed through the trader's workflow
first, visible in its decision log, allowed while paused) or `?positions=leave` (deleted, and the
decision log records the positions left unwatched).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def _holding(st: Stack) -> int:
    """A paper trader holding a BTC long."""
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.json()["status"] == "executed", r.text
    return tid


async def _positions(st: Stack, tid: int) -> list[dict]:
    return (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]


async def _ended(st: Stack, tid: int) -> None:
    h = st.client.get_workflow_handle(f"trader-{tid}")

    async def done() -> bool:
        return (await h.describe()).status is WorkflowExecutionStatus.COMPLETED

    await eventually(done)


async def test_delete_with_open_positions_is_refused_and_lists_them(st: Stack) -> None:
    tid = await _holding(st)
    r = await st.api.delete(f"/api/account/{tid}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "POSITIONS_OPEN" and "BTC long" in body["error"], body
    assert "positions=close" in body["error"] and "positions=leave" in body["error"]
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["status"] == "Active" and len(await _positions(st, tid)) == 1


async def test_delete_can_close_the_positions_first_even_when_paused(st: Stack) -> None:
    tid = await _holding(st)
    await st.post(f"/api/account/{tid}/pause")
    r = await st.api.delete(f"/api/account/{tid}", params={"positions": "close"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Deleted"
    assert await _positions(st, tid) == []
    items = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
    close = items[0]
    assert close["status"] == "executed" and close["trigger_type"] == "manual", close
    assert close["output"]["decision"]["operation"] == "close"
    assert [o["leg"] for o in close["orders"]] == ["close"], close["orders"]
    await _ended(st, tid)


async def test_delete_can_leave_the_positions_and_records_it(st: Stack) -> None:
    tid = await _holding(st)
    r = await st.api.delete(f"/api/account/{tid}", params={"positions": "leave"})
    assert r.status_code == 200, r.text
    await _ended(st, tid)
    items = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
    note = items[0]
    assert note["status"] == "deleted", note
    left = note["trigger_context"]["left_positions"]
    assert [(p["symbol"], p["side"]) for p in left] == [("BTC", "long")], left


async def test_delete_without_positions_needs_no_choice(st: Stack) -> None:
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    r = await st.api.delete(f"/api/account/{tid}")
    assert r.status_code == 200 and r.json()["status"] == "Deleted", r.text
    await _ended(st, tid)


async def test_an_unknown_positions_choice_is_a_422(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    r = await st.api.delete(f"/api/account/{tid}", params={"positions": "sell"})
    assert r.status_code == 422, r.text
