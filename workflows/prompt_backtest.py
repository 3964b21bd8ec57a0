"""PromptBacktestWorkflow: one per prompt backtest task (`prompt-backtest-<task id>`), on the
backtest task queue. It asks the task's items a chunk at a time (CHUNK_ITEMS each), checks the
budget after each chunk, answers a `progress` query, and records how the task ended.

Each chunk activity stores its items one by one as they complete, so a worker killed mid-chunk
loses only the items in flight: the retried chunk asks the rest. Cancelling the workflow
(POST /api/prompt-backtest/tasks/{id}/cancel) stops the chunk in flight at an item boundary;
the items stored stay and the results cover them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.prompt_backtest import (
        CHUNK_ITEMS,
        CHUNKS_PER_RUN,
        FINISH_TASK,
        RUN_CHUNK,
        START_TASK,
        ChunkInput,
        FinishInput,
        Progress,
        TaskInput,
        TaskStatus,
    )

# Why these retries: a chunk resumes where it stopped, so retrying is always safe; a provider's
# 429 waits what it asked (the activity's next_retry_delay), 5xx and timeouts back off up to a
# minute. A refused key or an unknown model is not retried (the task fails with its message).
CHUNK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


@workflow.defn(name="PromptBacktestWorkflow")
class PromptBacktestWorkflow:
    def __init__(self) -> None:
        self._progress = Progress()

    # Why a query: the API shows progress without waiting on the database row, and a query
    # adds nothing to the history.
    @workflow.query
    def progress(self) -> Progress:
        return self._progress

    @workflow.run
    async def run(self, input: TaskInput) -> str:
        self._progress = Progress(total=input.total)
        budget = Decimal(input.max_cost_usd) if input.max_cost_usd is not None else None
        seq, chunks = input.next_seq, 0
        try:
            if seq == 0:
                await self._activity(START_TASK, input.task_id)
            while seq < input.total:
                to = min(seq + CHUNK_ITEMS, input.total)
                # Why one activity per chunk with a heartbeat per item: a chunk may wait minutes
                # on the model; the heartbeat shows a dead worker within seconds and carries the
                # cancellation in; WAIT_CANCELLATION_COMPLETED lets the chunk store the items it
                # finished before the workflow records the end.
                self._progress = await workflow.execute_activity(
                    RUN_CHUNK,
                    ChunkInput(task_id=input.task_id, from_seq=seq, to_seq=to),
                    result_type=Progress,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(seconds=120),
                    retry_policy=CHUNK_RETRY,
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
                seq, chunks = to, chunks + 1
                if budget is not None and Decimal(self._progress.spent_cost_usd) >= budget:
                    return await self._end(input.task_id, TaskStatus.COMPLETED_BUDGET)
                if seq < input.total and chunks >= CHUNKS_PER_RUN:
                    # Why continue-as-new: a long task would otherwise grow one history
                    # without bound; where to start is all the next run needs.
                    workflow.continue_as_new(input.model_copy(update={"next_seq": seq}))
        except BaseException as err:  # asyncio.CancelledError is not an Exception
            if not is_cancelled_exception(err):
                if isinstance(err, ActivityError):
                    cause = err.cause
                    message = cause.message if isinstance(cause, FailureError) else str(err)
                    return await self._end(input.task_id, TaskStatus.FAILED, message[:500])
                raise
            # Why catch it: a cancelled workflow may still run activities, so the task says
            # cancelled and its results cover the items stored so far.
            await self._end(input.task_id, TaskStatus.CANCELLED)
            raise
        return await self._end(input.task_id, TaskStatus.COMPLETED)

    async def _end(self, task_id: int, status: TaskStatus, error: str | None = None) -> str:
        await self._activity(FINISH_TASK, FinishInput(task_id=task_id, status=status, error=error))
        return status.value

    async def _activity(self, name: str, arg: object) -> None:
        # Why an activity retried until the database answers: the workflow may not touch the
        # database, and a task must not stay `running` after its workflow ended.
        await workflow.execute_activity(
            name, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY
        )
