"""BackfillWorkflow: one per backfill task (`backfill-<task id>`), fetching a range of candles or
funding rates from a venue page by page, on the backfill task queue.

Each page is an activity that stores its rows and moves the task's cursor in one transaction, so
a worker killed mid-page redoes that page on another worker and writes nothing twice; the pages
behind the cursor are in this workflow's history and are never fetched again. Cancelling the
workflow (POST /api/klines/backfill/{id}/cancel) stops it between or inside a page; the pages
stored stay.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.backfill import (
        FETCH_PAGE,
        RECORD_STATUS,
        BackfillInput,
        BackfillStatus,
        PageInput,
        PageResult,
        RecordStatusInput,
    )

# Why these retries: a page is idempotent, so retrying is always safe; 5xx and timeouts back off
# up to a minute, a 429 waits what the venue asked (the activity's next_retry_delay). Past the
# attempts the task fails with the venue's last error (the pages stored so far stay).
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=12,
    non_retryable_error_types=["VENUE_REFUSED"],
)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


@workflow.defn(name="BackfillWorkflow")
class BackfillWorkflow:
    @workflow.run
    async def run(self, input: BackfillInput) -> str:
        cursor = input.cursor_ms
        try:
            while cursor < input.end_ms:
                # Why a normal activity with a heartbeat: a page may wait on the venue (rate
                # limits, slow replies); the heartbeat shows a dead worker within seconds, and the
                # page is then retried on a live one.
                page: PageResult = await workflow.execute_activity(
                    FETCH_PAGE,
                    PageInput(task_id=input.task_id, cursor_ms=cursor, end_ms=input.end_ms),
                    result_type=PageResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    heartbeat_timeout=timedelta(seconds=5),
                    retry_policy=PAGE_RETRY,
                )
                if page.stopped:
                    return BackfillStatus.CANCELLED.value
                cursor = page.next_cursor_ms
                if workflow.info().is_continue_as_new_suggested():
                    # Why continue-as-new: a long range (years of 1m candles) would otherwise grow
                    # one history without bound; the cursor is all the next run needs.
                    workflow.continue_as_new(
                        BackfillInput(task_id=input.task_id, cursor_ms=cursor, end_ms=input.end_ms)
                    )
        except BaseException as err:  # asyncio.CancelledError is not an Exception
            if not is_cancelled_exception(err):
                if isinstance(err, ActivityError):
                    return await self._failed(input.task_id, err)
                raise
            # Why catch it: a cancelled workflow may still run activities, so the task says
            # cancelled (the API has usually said so first; recording it again changes nothing).
            await self._record(input.task_id, BackfillStatus.CANCELLED, None)
            raise  # a cancellation: the run ends as cancelled in Temporal too
        await self._record(input.task_id, BackfillStatus.COMPLETED, None)
        return BackfillStatus.COMPLETED.value

    async def _failed(self, task_id: int, err: ActivityError) -> str:
        cause = err.cause
        message = cause.message if isinstance(cause, FailureError) else str(err)
        await self._record(task_id, BackfillStatus.FAILED, message[:500])
        return BackfillStatus.FAILED.value

    async def _record(self, task_id: int, status: BackfillStatus, error: str | None) -> None:
        # Why an activity (retried until the database answers): the workflow may not touch the
        # database, and a task must not stay `running` after its workflow ended.
        await workflow.execute_activity(
            RECORD_STATUS,
            RecordStatusInput(task_id=task_id, status=status, error=error),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
