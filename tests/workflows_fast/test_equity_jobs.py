"""Equity history's periodic jobs (workflows/equity.py), started as their schedules start them:
a sample tick runs the sample once (no retry: the next tick is one), and thinning runs as of
the workflow's own time, or the time it is given."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from domain.contracts import Activity
from domain.equity import EquitySampleInput, EquitySampleResult, EquityThinInput, EquityThinResult
from tests.workflows_fast.conftest import Harness
from workflows.equity import EquitySampleWorkflow, EquityThinWorkflow


def _id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_a_tick_samples_once_and_returns_what_it_recorded(fast: Harness) -> None:
    fast.fakes.sample_equity_answer = lambda _: EquitySampleResult(sampled=3, skipped=1)
    out = await fast.env.client.execute_workflow(
        EquitySampleWorkflow.run,
        EquitySampleInput(),
        id=_id("equity-sample"),
        task_queue=fast.task_queue,
        result_type=EquitySampleResult,
    )
    assert out == EquitySampleResult(sampled=3, skipped=1)
    assert len(fast.fakes.inputs(Activity.SAMPLE_EQUITY)) == 1


async def test_a_failed_sample_is_not_retried(fast: Harness) -> None:
    def down(_: EquitySampleInput) -> EquitySampleResult:
        raise ApplicationError("database unavailable")

    fast.fakes.sample_equity_answer = down
    with pytest.raises(WorkflowFailureError):
        await fast.env.client.execute_workflow(
            EquitySampleWorkflow.run,
            EquitySampleInput(),
            id=_id("equity-sample"),
            task_queue=fast.task_queue,
        )
    assert len(fast.fakes.inputs(Activity.SAMPLE_EQUITY)) == 1  # the next tick is the retry


async def test_thinning_runs_as_of_the_workflows_time(fast: Harness) -> None:
    await fast.skip(timedelta(days=3))  # the test server's clock, not the machine's
    before = await fast.env.get_current_time()
    await fast.env.client.execute_workflow(
        EquityThinWorkflow.run,
        id=_id("equity-thin"),
        task_queue=fast.task_queue,
        result_type=EquityThinResult,
    )
    (req,) = fast.fakes.inputs(Activity.THIN_EQUITY)
    assert before <= req.now < before + timedelta(minutes=1)
    assert req.now > datetime.now(UTC) + timedelta(days=2)  # skipped time, not the wall clock


async def test_thinning_takes_the_time_it_is_given(fast: Harness) -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    await fast.env.client.execute_workflow(
        EquityThinWorkflow.run,
        EquityThinInput(now=at),
        id=_id("equity-thin"),
        task_queue=fast.task_queue,
        result_type=EquityThinResult,
    )
    assert [r.now for r in fast.fakes.inputs(Activity.THIN_EQUITY)] == [at]
