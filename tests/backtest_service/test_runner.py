"""BacktestRunner (the run activity's body) with the real engine and sandbox, no Temporal:
the stored report is the engine's; a cancel someone asked for stores the partial report as
cancelled; a cancellation nobody asked for (a worker shutting down) leaves the run to resume;
a run cancelled in the database stops at its next progress report; a run without its program
or its candles ends failed with the reason.

Why: these are the activity's decisions about what a run's row says when it ends; a shutdown
mistaken for a cancel would end a user's run for good, a cancel mistaken for a shutdown would
leave it running forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from sqlalchemy import delete

from db.backtest_models import BacktestRecord
from db.backtests import Sessions, create_backtest, load_backtest, set_status
from db.models import CandleRecord, Program
from domain.backtest import BacktestKind, BacktestStatus
from sandbox.runner import SandboxLimits
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import load_history
from strategies.backtest.runner import BacktestRunner, Hooks
from strategies.backtest.snapshot_decider import ProgramSnapshotDecider
from strategies.backtest.stored_config import to_stored
from tests.backtest.support import START, config, database, store_hourly
from tests.backtest_service.e2e import FLIP, prices
from tests.backtest_service.support import owner_and_program
from tests.support.waiting import eventually

LIMITS = SandboxLimits(wall_seconds=3.0, cpu_seconds=2, memory_mb=256)


@dataclass
class Run:
    sessions: Sessions
    runner: BacktestRunner
    backtest_id: int
    program_id: int
    cancel_asked: bool = False

    def hooks(self) -> Hooks:
        return Hooks(heartbeat=lambda *_: None, cancel_requested=lambda: self.cancel_asked)

    async def row(self) -> BacktestRecord:
        row = await load_backtest(self.sessions, self.backtest_id)
        assert row is not None
        return row


async def _run(sessions: Sessions, steps: int) -> Run:
    owner, program = await owner_and_program(sessions)
    async with sessions() as s, s.begin():
        (await s.get(Program, program)).code = FLIP  # type: ignore[union-attr]
    row = await create_backtest(
        sessions, max_per_user=5, max_total=5, owner_id=owner, kind=BacktestKind.PROGRAM.value,
        program_id=program, account_id=None, config=to_stored(config(steps), {}),
        total_steps=steps,
    )  # fmt: skip
    return Run(sessions, BacktestRunner(sessions, LIMITS), row.id, program)


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[Sessions]:
    async with database(sqlite_url) as sessions:
        yield sessions


async def _started(run: Run) -> asyncio.Task[BacktestStatus]:
    task = asyncio.create_task(run.runner.run(run.backtest_id, run.hooks()))

    async def going() -> bool:
        return (await run.row()).steps_done >= 2

    await eventually(going, timeout=60, interval=0.05)
    return task


async def test_the_stored_report_is_the_engines(sessions: Sessions) -> None:
    await store_hourly(sessions, prices(8))
    run = await _run(sessions, 8)
    assert await run.runner.run(run.backtest_id, run.hooks()) == BacktestStatus.COMPLETED
    engine = BacktestEngine(config(8), await load_history(sessions, config(8)))
    await engine.run(ProgramSnapshotDecider(FLIP, LIMITS))
    row = await run.row()
    assert row.result_hash == engine.report().result_hash
    assert row.metrics == engine.report().metrics


async def test_a_requested_cancel_stores_the_partial_report(sessions: Sessions) -> None:
    await store_hourly(sessions, prices(2000))
    run = await _run(sessions, 2000)
    task = await _started(run)
    run.cancel_asked = True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await run.row()
    assert row.status == "cancelled"
    assert row.metrics["decisions"]["total"] == row.steps_done < 2000


async def test_a_shutdown_leaves_the_run_to_resume(sessions: Sessions) -> None:
    """Cancelled without a cancel asked for: no results, still running, a checkpoint of where
    it got (so the next attempt does not redo the steps since the last periodic one)."""
    await store_hourly(sessions, prices(2000))
    run = await _run(sessions, 2000)
    task = await _started(run)
    task.cancel()  # not asked for: the worker is going away
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await run.row()
    assert (row.status, row.metrics) == ("running", None)
    assert row.checkpoint is not None  # where it got, to resume from
    assert row.checkpoint["steps_done"] == row.steps_done >= 2


async def test_a_run_cancelled_in_the_database_stops(sessions: Sessions) -> None:
    await store_hourly(sessions, prices(2000))
    run = await _run(sessions, 2000)
    task = await _started(run)
    await set_status(sessions, run.backtest_id, BacktestStatus.CANCELLED)
    assert await asyncio.wait_for(task, 10) == BacktestStatus.CANCELLED
    row = await run.row()
    assert row.metrics is not None and row.steps_done < 2000


async def test_a_run_whose_program_was_deleted_fails(sessions: Sessions) -> None:
    await store_hourly(sessions, prices(5))
    run = await _run(sessions, 5)
    async with sessions() as s, s.begin():
        await s.execute(delete(Program).where(Program.id == run.program_id))
    assert await run.runner.run(run.backtest_id, run.hooks()) == BacktestStatus.FAILED
    assert "program was deleted" in str((await run.row()).error)


async def test_candles_gone_since_the_post_fail_the_run_naming_them(sessions: Sessions) -> None:
    await store_hourly(sessions, prices(5))
    run = await _run(sessions, 5)
    async with sessions() as s, s.begin():
        await s.execute(delete(CandleRecord).where(CandleRecord.open_time_ms == START))
    assert await run.runner.run(run.backtest_id, run.hooks()) == BacktestStatus.FAILED
    error = str((await run.row()).error)
    assert error.startswith("DATA_COVERAGE: No stored candles for: BTC 1h") and "2025-01" in error
