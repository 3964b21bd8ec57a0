"""POST /api/programs/backtest against the limits a run needs: a free slot (429 BACKTEST_BUSY,
per user and per instance), stored candles over the whole range (422 DATA_COVERAGE naming the
missing range), and a program that fails on every bar (recorded as failed decisions, the run
goes on to the end).

Why: backtests share the machine with live traders (the slots), and a run over missing candles
or a crashing program must say so instead of reporting a quiet, flat result."""

from __future__ import annotations

from sqlalchemy import delete
from temporalio.client import Client

from db.models import CandleRecord
from tests.backtest.support import HOUR, START
from tests.backtest_service.e2e import FLIP, candles, ended, iso, post
from tests.programs import HOLD, RAISES
from tests.support.stack import Stack, full_stack, make_settings


async def _cancel(st: Stack, backtest_id: int) -> None:
    r = await st.api.post(f"/api/programs/backtest/{backtest_id}/cancel")
    assert r.status_code == 200, r.text


async def test_a_users_second_run_at_once_is_429(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, backtest_sync_wait_seconds=0)
    async with full_stack(None, settings) as st:
        await candles(st, 2000)
        program = await st.create_program(FLIP)
        first = (await post(st.api, program["id"], 2000)).json()["backtest"]
        r = await post(st.api, program["id"], 10)
        assert (r.status_code, r.json()["code"]) == (429, "BACKTEST_BUSY"), r.text
        await _cancel(st, first["id"])
        r = await post(st.api, program["id"], 10)  # the slot is free again
        assert r.status_code in (201, 202), r.text
        await ended(st.api, r.json()["backtest"]["id"])


async def test_the_instance_limit_counts_every_users_runs(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(
        temporal_address, sqlite_url, backtest_sync_wait_seconds=0, backtest_max_running=1
    )
    async with full_stack(None, settings) as st:
        await candles(st, 2000)
        program = await st.create_program(FLIP)
        first = (await post(st.api, program["id"], 2000)).json()["backtest"]
        async with st.user_client("other@example.com") as other:
            theirs = (await other.post("/api/programs/", json={"name": "p", "code": HOLD})).json()
            r = await post(other, theirs["id"], 10)
        assert (r.status_code, r.json()["code"]) == (429, "BACKTEST_BUSY"), r.text
        await _cancel(st, first["id"])


async def test_missing_candles_are_422_data_coverage_naming_the_range(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        await candles(st, 10)
        hole = START + 3 * HOUR  # the open of decision bar 4
        async with st.deps.sessions() as s, s.begin():
            await s.execute(delete(CandleRecord).where(CandleRecord.open_time_ms == hole))
        program = await st.create_program(FLIP)
        r = await post(st.api, program["id"], 10)
        assert (r.status_code, r.json()["code"]) == (422, "DATA_COVERAGE"), r.text
        assert f"BTC 1h {iso(hole)} to {iso(hole + HOUR)}" in r.json()["error"]
        assert (await st.api.get("/api/programs/backtests")).json() == []  # nothing started
        r = await post(st.api, program["id"], 10, allow_gaps=True)  # or skip the bar
        assert r.status_code == 201, r.text
        assert r.json()["metrics"]["data_gaps"] == 1


async def test_a_program_failing_on_every_bar_is_recorded_and_the_run_goes_on(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        await candles(st, 5)
        program = await st.create_program(RAISES)
        r = await post(st.api, program["id"], 5)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["backtest"]["status"] == "completed"
        assert body["metrics"]["decisions"]["failed"] == 5
        bt = body["backtest"]["id"]
        failed = (
            await st.api.get(f"/api/programs/backtest/{bt}/decisions", params={"filter": "failed"})
        ).json()["decisions"]
        assert len(failed) == 5 and all(d["error_code"] for d in failed)
