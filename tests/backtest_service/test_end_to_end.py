"""Program backtests through the whole stack: API, the backtest worker, the engine, the real
sandbox, SQLite, on candles inserted into the candles table.

Why: these are the paths a user takes (a short run answered at once, a long one followed, a
cancel, the same run twice); each joins pieces the other tests check apart."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from tests.backtest_service.e2e import FLIP, candles, ended, post
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually


async def test_a_short_run_answers_201_with_trades_and_metrics(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        await candles(st, 12)
        program = await st.create_program(FLIP)
        r = await post(st.api, program["id"], 12)
        assert r.status_code == 201, r.text
        body = r.json()
        b = body["backtest"]
        assert (b["status"], b["progress"], b["total_trades"]) == ("completed", "1", 6), body
        assert len(body["trades"]) == 6 and body["trades"][0]["symbol"] == "BTC"
        assert body["metrics"]["total_pnl"] == b["total_pnl"]
        assert body["metrics"]["decisions"]["total"] == 12
        assert len(b["result_hash"]) == 64
        again = (await st.api.get(f"/api/programs/backtest/{b['id']}")).json()
        assert again == body


async def test_the_same_run_twice_gives_the_same_result_hash(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        await candles(st, 10)
        program = await st.create_program(FLIP)
        first = (await post(st.api, program["id"], 10)).json()
        second = (await post(st.api, program["id"], 10)).json()
        assert first["backtest"]["id"] != second["backtest"]["id"]
        assert first["backtest"]["result_hash"] == second["backtest"]["result_hash"]
        assert first["trades"] == second["trades"]


async def test_a_long_run_answers_202_then_completes(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, backtest_sync_wait_seconds=0)
    async with full_stack(None, settings) as st:
        await candles(st, 30)
        program = await st.create_program(FLIP)
        r = await post(st.api, program["id"], 30)
        assert r.status_code == 202, r.text
        b = r.json()["backtest"]
        assert b["status"] in ("pending", "running") and r.json()["trades"] == []
        done = await ended(st.api, b["id"])
        assert done["backtest"]["status"] == "completed"
        assert done["backtest"]["steps_done"] == done["backtest"]["total_steps"] == 30


@pytest.mark.serial  # a time budget (5 s): runs alone (make test)
async def test_cancel_stops_within_5_s_keeping_partial_results(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, backtest_sync_wait_seconds=0)
    async with full_stack(None, settings) as st:
        await candles(st, 3000)
        program = await st.create_program(FLIP)
        b = (await post(st.api, program["id"], 3000)).json()["backtest"]

        async def going() -> bool:
            r = await st.api.get(f"/api/programs/backtest/{b['id']}")
            return r.json()["backtest"]["steps_done"] >= 10

        await eventually(going, timeout=60, interval=0.1)
        loop = asyncio.get_running_loop()
        began = loop.time()
        r = await st.api.post(f"/api/programs/backtest/{b['id']}/cancel")
        took = loop.time() - began
        body = r.json()
        assert (r.status_code, body["backtest"]["status"]) == (200, "cancelled"), body
        assert took < 5, took
        assert 10 <= body["backtest"]["steps_done"] < 3000
        assert body["metrics"]["decisions"]["total"] == body["backtest"]["steps_done"]
        assert body["backtest"]["total_trades"] == len(body["trades"]) > 0
