"""A worker that stalls past the workflow task timeout in the middle of a paper decision.

The worker stops right after the paper order filled; its task times out at the server; when
the worker wakes it finishes the decision's local steps, and its completion is refused ("Task
not found"); the task runs again, on a position the first attempt opened.
The manual trigger's caller gets the decision it caused (or a retryable error that, sent again
with the same Idempotency-Key, returns that same decision), and there is one order.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from domain.contracts import Activity
from tests.reliability.test_concurrent_triggers import check_invariants
from tests.reliability.venues import TOGGLE
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

STALL_S = 13  # past the 10 s workflow task timeout


async def test_worker_stalled_past_the_task_timeout_sends_one_order(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st:
        # The worker stops itself right after the paper order filled, before the task completes.
        worker = WorkerProcess(settings, stall_after=Activity.PLACE_ORDER)
        worker.start()
        try:
            tid = (await st.create_trader(trading_enabled=True))["account_id"]
            await st.bind(tid, (await st.create_program(TOGGLE, "toggle"))["id"])

            async def polling() -> bool:
                return "worker polling" in worker.output()

            await eventually(polling, timeout=60, interval=0.05)
            headers = {"Idempotency-Key": "stall-1"}
            call = asyncio.create_task(st.post(f"/api/account/{tid}/trigger", headers=headers))

            async def stalled() -> bool:
                return worker.stopped()

            await eventually(stalled, timeout=30, interval=0.02)
            await asyncio.sleep(STALL_S)
            worker.resume()
            r = await asyncio.wait_for(call, timeout=120)
            if r.status_code == 503:  # the retryable answer: the same key gets the decision
                assert r.json()["code"] == "TRIGGER_INTERRUPTED", r.text
                r = await st.post(f"/api/account/{tid}/trigger", headers=headers)
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["decision_id"] == f"dec-{tid}-1" and out["status"] == "executed", out
            assert [o["client_order_id"] for o in out["orders"]] == [f"ho-{tid}-1-entry"]
            again = await st.post(f"/api/account/{tid}/trigger", headers=headers)
            assert again.json()["decision_id"] == out["decision_id"], again.text
            statuses = await check_invariants(st, tid, [out])
            assert statuses == {"executed": 1}, statuses
            assert "Task not found" in worker.output() or "not found" in worker.output()
        finally:
            worker.resume()
            worker.stop()
