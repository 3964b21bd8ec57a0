"""Chaos on paper: SIGKILL the worker process during bursts of concurrent triggers.

Paper decisions run every step as a local activity in one workflow task, so a killed worker
loses whole decisions' worth of committed steps; the restarted worker runs those tasks again.
After the last restart, every trigger has exactly one decision, no decision holds two orders,
orders equal the decisions that traded, and positions equal the recorded fills.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from temporalio.client import Client

from tests.reliability.test_concurrent_triggers import check_invariants
from tests.reliability.venues import TOGGLE
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

KILLS = 6
TRADERS = 3
BURST = 8  # concurrent triggers per trader per round


async def _polling(worker: WorkerProcess) -> None:
    async def up() -> bool:
        return "worker polling" in worker.output()

    await eventually(up, timeout=60, interval=0.05)


async def test_sigkill_worker_during_trigger_bursts_on_paper(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    rng = random.Random(20261207)
    settings = make_settings(temporal_address, sqlite_url)
    started = time.monotonic()
    async with full_stack(None, settings, worker=False) as st:
        worker = WorkerProcess(settings)
        worker.start()
        try:
            prog = (await st.create_program(TOGGLE, "toggle"))["id"]
            tids = []
            for i in range(TRADERS):
                tid = (await st.create_trader(name=f"p{i}", trading_enabled=True))["account_id"]
                await st.bind(tid, prog)
                tids.append(tid)
            await _polling(worker)
            answers: dict[int, list[dict]] = {tid: [] for tid in tids}
            for k in range(KILLS):
                burst = [
                    (
                        tid,
                        st.post(
                            f"/api/account/{tid}/trigger", headers={"Idempotency-Key": f"{k}-{i}"}
                        ),
                    )
                    for tid in tids
                    for i in range(BURST)
                ]
                calls = asyncio.gather(*(call for _, call in burst))
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                worker.kill()
                worker = WorkerProcess(settings)
                worker.start()
                responses = await asyncio.wait_for(calls, timeout=240)
                for (tid, _), r in zip(burst, responses, strict=True):
                    assert r.status_code == 200, r.text
                    answers[tid].append(r.json())
            statuses: Counter[str] = Counter()
            for tid in tids:
                statuses += await check_invariants(st, tid, answers[tid])
        finally:
            worker.stop()
    assert statuses["executed"] == KILLS * TRADERS * BURST, statuses
    print(
        f"\n[reliability] paper worker SIGKILLs={KILLS}, decisions={dict(statuses)}"
        f", total {time.monotonic() - started:.0f}s"
    )
