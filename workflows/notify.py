"""The notifier (README "Notifications"), on its own task queue so a slow receiver never
delays a trader: `NotifyWorkflow` reads the live stream's new events into deliveries and hands
each to a `DeliverNowWorkflow` of its own; `DailySummaryWorkflow` records and sends the day's
summary; `DeliverNowWorkflow` sends given deliveries (also the channel test's).

Why a Temporal Schedule starting one short `NotifyWorkflow` every few seconds, not one
long-running workflow: a pass is a bounded history (read, hand out, done), so there is no
continue-as-new to get right and no history growing for life; the schedule is durable, visible
and paused from the UI or CLI like equity-sample; its ticks never overlap (SKIP), so one pass at
a time moves the cursor. A crash loses nothing: the deliveries and the cursor past their events
are written in one transaction, so a pass that died before it is redone and one that died after
it finds them recorded (a delivery's id is unique per channel and event).

Why each delivery in a child workflow of its own (`notify-delivery-<delivery id>`, abandoned by
the pass): a receiver that is down is retried for minutes, and a pass that waited for it would
hold up every other user's messages behind it. The child's id is the delivery's, so a later pass
that finds the delivery still pending while its child retries starts nothing (the id is taken),
and a delivery is never sent by two workflows at once; its activity also skips a delivery
already sent.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.notifications import (
        BatchResult,
        CollectInput,
        CollectResult,
        CollectSummaryInput,
        DeliverBatchInput,
        DeliverInput,
        DeliveryPolicy,
        DeliveryResult,
        GiveUpInput,
        NotifyActivity,
        NotifyInput,
        SummaryInput,
    )

# Recording: database writes, idempotent, retried until the database answers.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=30)
)
RECORD_TIMEOUT = timedelta(seconds=60)


def _start_delivery(delivery_id: str, policy: DeliveryPolicy) -> workflow.ActivityHandle[Any]:
    return workflow.start_activity(
        NotifyActivity.DELIVER,
        DeliverInput(delivery_id=delivery_id, http_timeout_s=policy.http_timeout_s),
        result_type=DeliveryResult,
        # The request's own timeout fires first; this catches a hang anywhere else.
        start_to_close_timeout=timedelta(seconds=policy.http_timeout_s + 10),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=policy.initial_retry_s),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=policy.max_retry_s),
            maximum_attempts=policy.max_attempts,
        ),
    )


async def deliver_all(ids: list[str], policy: DeliveryPolicy) -> BatchResult:
    """Every delivery at once (all started before any is awaited): one slow receiver holds up
    only its own activity. One out of attempts is recorded as failed."""
    handles = [(i, _start_delivery(i, policy)) for i in ids]
    results: list[DeliveryResult] = []
    for delivery_id, handle in handles:
        try:
            results.append(await handle)
        except ActivityError as err:
            reason = str(err.cause) if err.cause is not None else str(err)
            gave_up: DeliveryResult = await workflow.execute_activity(
                NotifyActivity.GIVE_UP,
                GiveUpInput(delivery_id=delivery_id, error=f"out of attempts: {reason}"),
                result_type=DeliveryResult,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
            results.append(gave_up)
    return BatchResult(results=results)


@workflow.defn(name="NotifyWorkflow")
class NotifyWorkflow:
    @workflow.run
    async def run(self, input: NotifyInput) -> CollectResult:
        collected: CollectResult = await workflow.execute_activity(
            NotifyActivity.COLLECT,
            CollectInput(batch=input.batch),
            result_type=CollectResult,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        for delivery_id in collected.pending:
            # Already started: an earlier pass's workflow is still sending it.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    DeliverNowWorkflow.run,
                    DeliverBatchInput(delivery_ids=[delivery_id], policy=input.policy),
                    id=f"notify-delivery-{delivery_id}",
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
        return collected


@workflow.defn(name="DailySummaryWorkflow")
class DailySummaryWorkflow:
    @workflow.run
    async def run(self, input: SummaryInput) -> BatchResult:
        # The schedule starts it just after midnight: the summary is of the day that ended.
        day = input.day or (workflow.now() - timedelta(days=1)).date()
        collected: CollectResult = await workflow.execute_activity(
            NotifyActivity.COLLECT_SUMMARY,
            CollectSummaryInput(day=day),
            result_type=CollectResult,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        return await deliver_all(collected.pending, input.policy)


@workflow.defn(name="DeliverNowWorkflow")
class DeliverNowWorkflow:
    @workflow.run
    async def run(self, input: DeliverBatchInput) -> BatchResult:
        return await deliver_all(input.delivery_ids, input.policy)
