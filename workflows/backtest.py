"""ProgramBacktestWorkflow: one per program backtest (`backtest-<id>`), on the backtest task
queue, so a long replay never takes a slot or a poller a live trader needs.

The whole run is one activity (domain/backtest.py says why). It heartbeats as it goes, stores
its progress and a checkpoint on the backtest's row, and at the end stores the report with the
final status in one transaction. Cancelling the workflow (POST .../cancel) reaches the activity
through its heartbeat: it stores the partial report as `cancelled`. A worker killed mid-run
misses its heartbeats; the activity is retried on a live worker and resumes from the checkpoint.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.backtest import (
        RECORD_BACKTEST_STATUS,
        RUN_PROGRAM_BACKTEST,
        BacktestInput,
        BacktestStatus,
        RecordBacktestStatusInput,
        RunBacktestInput,
        RunBacktestResult,
    )

# Why these retries: a retry resumes from the last checkpoint, so it costs at most the steps since
# then; a run that dies this many times in a row (a worker OOM-killed by the run itself) fails
# instead of looping. The run's own errors (bad config, missing candles) are stored by the
# activity as `failed` and are not raised, so they are never retried.
RUN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
# The longest a run may take in all (600,000 decisions at the sandbox's pace, with margin).
RUN_TIMEOUT = timedelta(hours=24)


@workflow.defn(name="ProgramBacktestWorkflow")
class ProgramBacktestWorkflow:
    @workflow.run
    async def run(self, input: BacktestInput) -> str:
        try:
            # Why one activity with a heartbeat timeout: the heartbeat both shows a dead worker
            # (then the run is retried and resumes from its checkpoint) and carries a
            # cancellation into the running replay. Why WAIT_CANCELLATION_COMPLETED: the
            # workflow ends only once the activity has stored its partial report.
            result: RunBacktestResult = await workflow.execute_activity(
                RUN_PROGRAM_BACKTEST,
                RunBacktestInput(backtest_id=input.backtest_id),
                result_type=RunBacktestResult,
                start_to_close_timeout=RUN_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=input.heartbeat_timeout_s),
                retry_policy=RUN_RETRY,
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except BaseException as err:  # asyncio.CancelledError is not an Exception
            if is_cancelled_exception(err):
                # Why record it here too: a run cancelled before its activity started (or whose
                # worker is gone) has no one else to say so; a row already final stays as is.
                await self._record(input.backtest_id, BacktestStatus.CANCELLED, None)
                raise
            if isinstance(err, ActivityError):
                cause = err.cause
                message = cause.message if isinstance(cause, FailureError) else str(err)
                await self._record(input.backtest_id, BacktestStatus.FAILED, message[:500])
                return BacktestStatus.FAILED.value
            raise
        return result.status.value

    async def _record(self, backtest_id: int, status: BacktestStatus, error: str | None) -> None:
        # Why an activity (retried until the database answers): the workflow may not touch the
        # database, and a backtest must not stay `running` after its workflow ended.
        await workflow.execute_activity(
            RECORD_BACKTEST_STATUS,
            RecordBacktestStatusInput(backtest_id=backtest_id, status=status, error=error),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
