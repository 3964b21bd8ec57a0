"""Fault injection in the worker: lose a workflow task right after one of its local steps.

A local activity's result reaches history only when the workflow task that ran it completes. If
that completion is lost (the server refused it: "Task not found"; the worker was killed or
stalled past the task timeout), Temporal runs the task again from the last recorded event and
every local step of it runs again, after its side effects committed. `LoseTaskAfter` produces
exactly that, on demand: once the named local activity has completed (its transaction
committed), the workflow code raises, the task fails, and its markers are dropped; the next
attempt re-executes the steps. It fires once per trader workflow and step, never while the
workflow replays recorded events.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)


class InjectedTaskLoss(RuntimeError):
    """Raised in workflow code: not a Temporal failure, so it fails the task, not the run."""


class LoseTaskAfter(Interceptor):
    """`on_loss`: called as each task is lost (e.g. to move the market before the rerun)."""

    def __init__(
        self, *steps: str, times: int = 1, on_loss: Callable[[], object] | None = None
    ) -> None:
        self.steps = set(steps)
        self.times = times
        self.on_loss = on_loss
        self.fired: Counter[tuple[str, str]] = Counter()  # (workflow id, step) -> losses

    def take(self, step: str) -> bool:
        if step not in self.steps or workflow.unsafe.is_replaying():
            return False
        key = (workflow.info().workflow_id, step)
        if self.fired[key] >= self.times:
            return False
        self.fired[key] += 1
        if self.on_loss is not None:
            self.on_loss()
        return True

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        plan = self

        class Outbound(WorkflowOutboundInterceptor):
            def start_local_activity(self, input: StartLocalActivityInput) -> Any:
                handle = super().start_local_activity(input)
                if input.activity not in plan.steps:
                    return handle
                return asyncio.ensure_future(_lose_after(handle, input.activity, plan))

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


async def _lose_after(handle: Awaitable[Any], step: str, plan: LoseTaskAfter) -> Any:
    result = await handle
    if plan.take(step):
        raise InjectedTaskLoss(f"injected: the workflow task is lost after {step} committed")
    return result


class FailAfterFirstAttempt(Interceptor):
    """An activity whose first attempt did its work and then failed to report it (the worker
    died after the model answered, say): Temporal retries it."""

    def __init__(self, *activities: str) -> None:
        self.activities = set(activities)
        self.failed: Counter[str] = Counter()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        plan = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                result = await super().execute_activity(input)
                info = activity.info()
                if info.activity_type in plan.activities and info.attempt == 1:
                    plan.failed[info.activity_type] += 1
                    raise InjectedTaskLoss(f"injected: {info.activity_type} lost its result")
                return result

        return Inbound(next)
