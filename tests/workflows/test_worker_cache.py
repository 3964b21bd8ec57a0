"""An idle trader's run leaves the worker's cache, and its next signal replays it and trades."""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowHandle

from config.settings import Settings
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually


async def _hold_trader(st: Stack) -> tuple[int, WorkflowHandle]:
    tid = int((await st.create_trader(trading_enabled=True))["account_id"])
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
    return tid, st.client.get_workflow_handle(f"trader-{tid}")


async def _run_id(handle: WorkflowHandle) -> str:
    return (await handle.describe()).run_id


def _idle_after_1s(temporal_address: str, sqlite_url: str, evict_idle_seconds: float) -> Settings:
    return make_settings(
        temporal_address,
        sqlite_url,
        idle_continue_as_new_seconds=1,
        worker_evict_idle_seconds=evict_idle_seconds,
    )


async def test_an_idle_run_is_evicted_and_replayed_on_its_next_signal(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, _idle_after_1s(temporal_address, sqlite_url, 1)) as st:
        runner = st.runner
        assert runner is not None
        tid, handle = await _hold_trader(st)
        first = await _run_id(handle)
        assert first in runner.runs  # the run that just decided is cached

        async def evicted() -> str | None:
            run_id = await _run_id(handle)
            return run_id if run_id != first and run_id not in runner.runs else None

        # Idle: the run continues as new, and the new run, which only waits, is evicted.
        waiting = await eventually(evicted, timeout=30)

        # The next signal replays the evicted run on this worker; it decides as if cached.
        r = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert r["status"] == "hold" and r["decision_id"] == f"dec-{tid}-2", r
        status = await handle.query("status")
        assert status["decisions_made"] == 2 and status["next_seq"] == 3
        assert status["status"] == "Active"
        history = await st.client.get_workflow_handle(
            f"trader-{tid}", run_id=waiting
        ).fetch_history()
        failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
        assert failed == []  # the replay matched the history (no nondeterminism)


async def test_without_eviction_an_idle_run_stays_cached(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, _idle_after_1s(temporal_address, sqlite_url, 0)) as st:
        assert st.runner is not None
        _, handle = await _hold_trader(st)
        first = await _run_id(handle)

        async def moved() -> str | None:
            run_id = await _run_id(handle)
            return run_id if run_id != first else None

        waiting = await eventually(moved, timeout=30)
        await asyncio.sleep(3)
        assert waiting in st.runner.runs
