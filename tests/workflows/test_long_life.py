"""Continue-as-new carries state; a worker killed mid-decision loses and duplicates nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.orm import undefer
from temporalio.client import Client

from db.models import DecisionRecord, OrderRecord
from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

# Burns ~1.5 s of wall time so the test can kill the worker while the program runs.
SLOW_LONG = """
import datetime
class Strategy:
    def should_trade(self, data):
        end = datetime.datetime.now() + datetime.timedelta(seconds=1.5)
        while datetime.datetime.now() < end:
            pass
        return Decision(operation="long", symbol="ETH", size_usd=100, leverage=1)
"""


async def test_continue_as_new_carries_state(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, continue_as_new_events=50)
    async with full_stack(None, settings) as st:
        t = await st.create_trader(trading_enabled=True)
        tid = t["account_id"]
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        handle = st.client.get_workflow_handle(f"trader-{tid}")
        first_run = (await handle.describe()).run_id
        # Local decision steps keep a hold decision to ~10 events: 20 entries make 4+ runs.
        for _ in range(10):
            assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
        # Paused state and the decision counter must survive further continue-as-new hops.
        await st.post(f"/api/account/{tid}/pause", json={"reason": "carry me"})
        for i in range(10):
            await handle.signal("signal_fired", {"fire_id": f"f{i}"})

        async def settled() -> bool:
            async with st.deps.sessions() as s:
                n = await s.scalar(
                    select(func.count())
                    .select_from(DecisionRecord)
                    .where(DecisionRecord.account_id == tid)
                )
            return n == 20

        await eventually(settled)
        runs = [w async for w in st.client.list_workflows(f"WorkflowId = 'trader-{tid}'")]
        assert len(runs) >= 3, "expected several continue-as-new hops"
        status = await handle.query("status")
        assert (await handle.describe()).run_id != first_run
        assert status["paused"] is True and status["pause_reason"] == "carry me"
        assert status["decisions_made"] == 10
        assert status["next_seq"] == 21  # 10 decisions + 10 ignored fires, ids never reused
        async with st.deps.sessions() as s:
            seqs = sorted(
                await s.scalars(select(DecisionRecord.seq).where(DecisionRecord.account_id == tid))
            )
        assert seqs == list(range(1, 21))


async def test_worker_killed_mid_decision(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(None, settings, worker=False) as st:
        worker = WorkerProcess(settings)
        worker.start()
        try:
            t = await st.create_trader(trading_enabled=True, symbols=["ETH"])
            tid = t["account_id"]
            await st.bind(tid, (await st.create_program(SLOW_LONG))["id"])
            paused = await st.create_trader(name="paused")
            pid = paused["account_id"]
            trigger = asyncio.create_task(st.post(f"/api/account/{tid}/trigger"))

            async def program_running() -> bool:
                async with st.deps.sessions() as s:
                    rec = await s.get(
                        DecisionRecord,
                        f"dec-{tid}-1",
                        options=[undefer(DecisionRecord.input_snapshot)],
                    )
                    return rec is not None and rec.input_snapshot is not None

            await eventually(program_running)
            worker.kill()
            # While no worker runs: a signal queues a decision; pause state must survive.
            handle = st.client.get_workflow_handle(f"trader-{tid}")
            await handle.signal("signal_fired", {"fire_id": "while-down"})
            worker = WorkerProcess(settings)
            worker.start()
            r = await asyncio.wait_for(trigger, 90)
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "executed", r.json()

            async def both_done() -> bool:
                async with st.deps.sessions() as s:
                    rows = list(
                        await s.scalars(
                            select(DecisionRecord).where(DecisionRecord.account_id == tid)
                        )
                    )
                return len(rows) == 2 and all(d.completed_at for d in rows)

            await eventually(both_done, timeout=60)
            async with st.deps.sessions() as s:
                orders = list(
                    await s.scalars(select(OrderRecord).where(OrderRecord.account_id == tid))
                )
            # Exactly one order per decision, each filled once.
            assert sorted(o.client_order_id for o in orders) == [
                f"ho-{tid}-1-entry",
                f"ho-{tid}-2-entry",
            ]
            assert all(o.status == "filled" for o in orders)
            trades = (await st.api.get(f"/api/account/{tid}/trades")).json()
            assert trades["total"] == 2
            status = await st.client.get_workflow_handle(f"trader-{pid}").query("status")
            assert status["paused"] is True
        finally:
            worker.stop()
