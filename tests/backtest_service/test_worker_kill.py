"""A backtest worker SIGKILLed mid-run: the run's activity misses its heartbeats, Temporal
retries it on a new worker, and it resumes from the checkpoint stored on the backtest's row to
the same result_hash as an uninterrupted run of the same config.

Why: a long backtest outlives deploys and crashes; starting over would waste the work, and a
resumed run that differs from an uninterrupted one would make the result depend on luck."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from db.backtests import load_backtest
from tests.backtest_service.e2e import FLIP, candles, ended, post
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

STEPS = 1500


async def polling(worker: WorkerProcess) -> None:
    async def up() -> bool:
        return "worker polling" in worker.output()

    await eventually(up, timeout=60, interval=0.05)


async def _row(st: Stack, backtest_id: int) -> Any:
    row = await load_backtest(st.deps.sessions, backtest_id)
    assert row is not None
    return row


async def test_a_killed_worker_resumes_from_the_checkpoint_to_the_same_hash(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(
        temporal_address,
        sqlite_url,
        backtest_sync_wait_seconds=0,
        backtest_heartbeat_timeout_seconds=3,
    )
    async with full_stack(None, settings, worker=False) as st:
        await candles(st, STEPS)
        program = await st.create_program(FLIP)
        worker = WorkerProcess(st.settings)
        worker.start()
        try:
            await polling(worker)
            reference = await ended(
                st.api, (await post(st.api, program["id"], STEPS)).json()["backtest"]["id"], 300
            )
            assert reference["backtest"]["status"] == "completed", reference
            bt = (await post(st.api, program["id"], STEPS)).json()["backtest"]["id"]

            async def checkpointed() -> bool:
                row = await _row(st, bt)
                return row.checkpoint is not None and row.steps_done > row.checkpoint["steps_done"]

            await eventually(checkpointed, timeout=120, interval=0.1)
            worker.kill()
            row = await _row(st, bt)
            resume_at = row.checkpoint["steps_done"]
            assert row.status == "running" and 0 < resume_at < STEPS
            worker = WorkerProcess(st.settings)
            worker.start()
            seen: list[int] = []

            async def finished() -> bool:
                now = await _row(st, bt)
                seen.append(now.steps_done)
                return now.status != "running"

            await eventually(finished, timeout=300, interval=0.05)
        finally:
            worker.kill()
        done = (await st.api.get(f"/api/programs/backtest/{bt}")).json()
        assert done["backtest"]["status"] == "completed", done
        assert done["backtest"]["result_hash"] == reference["backtest"]["result_hash"]
        assert done["trades"] == reference["trades"]
        assert min(seen) >= resume_at  # went on from the checkpoint, never from step 0
