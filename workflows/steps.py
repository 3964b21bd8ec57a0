"""Running one step of a trader as an activity: local where it is cheap, normal where it is not.

Workflow code: pure orchestration (see workflows/decision.py).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError

with workflow.unsafe.imports_passed_through():
    from domain import profiles
    from domain.contracts import Activity
    from workflows import patches
    from workflows.patches import (
        LOCAL_STEP_FAILURE_PATCH,
        LOCAL_STEPS_PATCH,
        LOCAL_TRADER_STEPS_PATCH,
    )

__all__ = ["LOCAL_STEP_FAILURE_PATCH", "LOCAL_STEPS_PATCH", "LOCAL_TRADER_STEPS_PATCH"]


async def execute_local(
    name: Activity, arg: Any, result: Any, profile: profiles.ActivityProfile
) -> Any:
    try:
        # Why a local activity: see run_step (callers decide which steps run locally).
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result,
            start_to_close_timeout=profile.start_to_close,
            retry_policy=profile.retry,
        )
    except (ApplicationError, TimeoutError) as err:
        if not patches.patched(LOCAL_STEP_FAILURE_PATCH):
            raise
        raise ActivityError(
            "Local activity failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=str(name),
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE
            if isinstance(err, ApplicationError) and err.non_retryable
            else RetryState.MAXIMUM_ATTEMPTS_REACHED,
        ) from err


async def run_step(
    name: Activity,
    arg: Any,
    result: Any,  # the result's type (a class, or e.g. Optional[...]), None for none
    profile: profiles.ActivityProfile,
    patch: str = LOCAL_STEPS_PATCH,
) -> Any:
    if profile.local and patches.patched(patch):
        # Why a local activity: the step runs on this worker without a server round trip
        # (~30 ms of dispatch each); it is still retried, and its result recorded in history.
        return await execute_local(name, arg, result, profile)
    # Why a normal activity: long I/O (LLM, exchange) gets its own timeouts, heartbeats and
    # retries scheduled by the server, visible while in flight, and may run on any worker.
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result,
        start_to_close_timeout=profile.start_to_close,
        heartbeat_timeout=profile.heartbeat,
        retry_policy=profile.retry,
    )
