"""Scheduled triggers are durable timers: checked with the time-skipping test server."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from db.models import DecisionRecord
from runtime.temporal import DATA_CONVERTER
from tests import programs
from tests.support.stack import api_only, make_settings, running_worker

BIN = Path(sys.executable).parent


async def test_schedule_fires_every_interval_and_stops_when_paused(sqlite_url: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    async with env:
        address = env.client.service_client.config.target_host
        settings = make_settings(address, sqlite_url, temporal_namespace="default")
        async with api_only(settings) as (app, http), running_worker(env.client, settings):
            r = await http.post("/api/account/", json={"name": "sched", "trading_enabled": True})
            tid = r.json()["account_id"]
            prog = (
                await http.post("/api/programs/", json={"name": "h", "code": programs.HOLD})
            ).json()
            r = await http.post(
                f"/api/account/{tid}/bindings",
                json={"program_id": prog["id"], "schedule_interval_seconds": 60},
            )
            assert r.status_code == 201

            async def scheduled() -> list[DecisionRecord]:
                async with app.state.sessions() as s:
                    rows = await s.scalars(
                        select(DecisionRecord).where(DecisionRecord.account_id == tid)
                    )
                    return [d for d in rows if d.trigger_type == "schedule"]

            await env.sleep(timedelta(minutes=10, seconds=30))
            fired = await scheduled()
            assert 9 <= len(fired) <= 11, len(fired)
            assert all(d.status == "hold" for d in fired if d.completed_at)

            await http.post(f"/api/account/{tid}/pause")
            before = len(await scheduled())
            await env.sleep(timedelta(minutes=10))
            assert len(await scheduled()) == before  # paused: no scheduled runs

            await http.post(f"/api/account/{tid}/resume")
            await env.sleep(timedelta(minutes=3, seconds=30))
            assert len(await scheduled()) >= before + 3


async def test_paused_trader_stop_loss_fires_through_position_sync(sqlite_url: str) -> None:
    from decimal import Decimal

    from db.models import PaperAccountRecord

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    async with env:
        address = env.client.service_client.config.target_host
        settings = make_settings(address, sqlite_url, temporal_namespace="default")
        async with api_only(settings) as (app, http), running_worker(env.client, settings):
            tid = (
                await http.post("/api/account/", json={"name": "sl", "trading_enabled": True})
            ).json()["account_id"]
            prog = (
                await http.post("/api/programs/", json={"name": "l", "code": programs.ALWAYS_LONG})
            ).json()
            await http.post(f"/api/account/{tid}/bindings", json={"program_id": prog["id"]})
            out = (await http.post(f"/api/account/{tid}/trigger")).json()
            assert out["status"] == "executed"
            await http.post(f"/api/account/{tid}/pause")
            # The market "falls through" the stop: move the stored stop above the mark.
            async with app.state.sessions() as s, s.begin():
                rec = await s.get(PaperAccountRecord, tid)
                state = dict(rec.state)
                pos = dict(state["positions"]["BTC"])
                pos["stop_loss_price"] = str(Decimal(pos["entry_price"]) * 2)
                state["positions"] = {"BTC": pos}
                rec.state = state
            await env.sleep(timedelta(seconds=90))
            trades = (await http.get(f"/api/account/{tid}/trades")).json()["items"]
            assert [t["trigger"] for t in trades] == ["stop_loss", None]
            positions = (await http.get(f"/api/account/{tid}/positions")).json()
            assert positions["total_count"] == 0
            acct = (await http.get(f"/api/account/{tid}")).json()
            assert acct["status"] == "Paused"
