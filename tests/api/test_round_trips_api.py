"""GET /api/account/{id}/round-trips: a position opened and closed by decisions shows up as one
round trip with its decisions and strategy; the list pages newest first like the other history
routes; another user's trader answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client

from db.models import RoundTripRecord
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def test_a_position_opened_and_closed_by_decisions(st: Stack) -> None:
    """The strategy is the entry decision's binding's (the close ran another program)."""
    tid = (await st.create_trader(trading_enabled=True))["id"]
    long_program = await st.create_program(programs.ALWAYS_LONG, "long")
    opening = await st.bind(tid, long_program["id"])
    closing = await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    trigger = f"/api/account/{tid}/trigger"
    opened = (await st.post(trigger, json={"binding_id": opening["id"]})).json()
    assert opened["status"] == "executed", opened
    closed = (await st.post(trigger, json={"binding_id": closing["id"]})).json()
    assert closed["status"] == "executed", closed

    page = (await st.api.get(f"/api/account/{tid}/round-trips")).json()
    assert (page["total"], page["page"], page["per_page"]) == (1, 1, 50)
    (trip,) = page["items"]
    assert (trip["symbol"], trip["side"], trip["exit_reason"]) == ("BTC", "long", "decision")
    assert trip["entry_decision_id"] == opened["decision_id"]
    assert trip["exit_decision_id"] == closed["decision_id"]
    assert (trip["trigger_type"], trip["program_id"], trip["prompt_id"]) == (
        "manual",
        long_program["id"],
        None,
    )
    fills = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    assert trip["fill_count"] == len(fills) == 2
    pnl = sum(Decimal(f["realized_pnl"]) for f in fills)
    fees = sum(Decimal(f["fee"]) for f in fills)
    assert (Decimal(trip["gross_pnl"]), Decimal(trip["fees"])) == (pnl, fees)
    assert Decimal(trip["net_pnl"]) == pnl - fees - Decimal(trip["funding"])
    assert trip["funding"] == "0" and trip["leverage"] == "2"


async def add_trips(st: Stack, account_id: int, n: int) -> None:
    async with st.app.state.sessions() as s, s.begin():
        for i in range(n):
            s.add(RoundTripRecord(account_id=account_id, symbol="BTC", side="long",
                                  opened_at=T0, closed_at=T0 + timedelta(hours=i),
                                  entry_price=Decimal(100), exit_price=Decimal(100 + i),
                                  size=Decimal(1), notional=Decimal(100), fees=Decimal(0),
                                  funding=Decimal(0), gross_pnl=Decimal(i), net_pnl=Decimal(i),
                                  exit_reason="decision", first_fill_id=2 * i + 1,
                                  last_fill_id=2 * i + 2, fill_count=2))  # fmt: skip


async def test_pages_newest_first(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    await add_trips(st, tid, 5)
    url = f"/api/account/{tid}/round-trips"
    first = (await st.api.get(url, params={"per_page": 2})).json()
    last = (await st.api.get(url, params={"per_page": 2, "page": 3})).json()
    assert (first["total"], last["total"]) == (5, 5)
    assert [t["net_pnl"] for t in first["items"]] == ["4", "3"]
    assert [t["net_pnl"] for t in last["items"]] == ["0"]
    r = await st.api.get(url, params={"per_page": 201})
    assert r.status_code == 422, r.text


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader(name="A's trader"))["id"]
    await add_trips(st, tid, 1)
    async with st.user_client("b@example.com") as b:
        theirs = await b.get(f"/api/account/{tid}/round-trips")
        missing = await b.get("/api/account/999999/round-trips")
    for r in (theirs, missing):
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "ACCOUNT_NOT_FOUND"
    assert "A's" not in theirs.text and "BTC" not in theirs.text
    assert theirs.json()["error"].replace(str(tid), "N") == missing.json()["error"].replace(
        "999999", "N"
    )
