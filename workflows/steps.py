"""Every activity the workflows call, typed: its name, input and result, and how it runs.

Workflow code: pure orchestration (see workflows/decision.py). The activities themselves live
in activities/, which workflows may not import; a `Step` is how a workflow names one. `run`
takes the step's own input model and returns its own result type, so passing the wrong model or
expecting the wrong result fails `make lint` (mypy), not a trader at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError

with workflow.unsafe.imports_passed_through():
    from domain import profiles
    from domain.contracts import (
        Activity,
        CancelOrderInput,
        CancelOrderResult,
        ContextSummary,
        DecisionOutcome,
        EvaluatePoolInput,
        EvaluatePoolResult,
        FanOutInput,
        FanOutResult,
        FinishDecisionInput,
        GatherContextInput,
        LoadConfigInput,
        PoolConfig,
        PoolConfigInput,
        RecordIntentsInput,
        RecordIntentsResult,
        RecordNoteInput,
        RecordNoteResult,
        RecordStatusInput,
        ResolveOrderInput,
        RunProgramInput,
        RunPromptInput,
        StrategyOutput,
        SyncAccountInput,
        SyncAccountResult,
        TraderConfig,
    )
    from domain.equity import (
        EquitySampleInput,
        EquitySampleResult,
        EquityThinInput,
        EquityThinResult,
    )
    from domain.orders import OrderIntent, OrderOutcome
    from domain.risk import RiskCheckInput, RiskVerdict

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Step(Generic[In, Out]):
    name: Activity
    result: Any  # Out as a runtime type for the converter (a class, or Optional[...], or None)
    profile: profiles.ActivityProfile
    # Why local or normal: see domain/profiles.py. None: as the profile says.
    local: bool | None = None
    schedule_to_close: timedelta | None = None


LOAD_CONFIG = Step[LoadConfigInput, TraderConfig](
    Activity.LOAD_CONFIG, TraderConfig, profiles.CONFIG
)
RECORD_STATUS = Step[RecordStatusInput, None](Activity.RECORD_STATUS, None, profiles.RECORD)
RECORD_NOTE = Step[RecordNoteInput, RecordNoteResult](
    Activity.RECORD_NOTE, RecordNoteResult, profiles.RECORD
)
GATHER_CONTEXT = Step[GatherContextInput, ContextSummary](
    Activity.GATHER_CONTEXT, ContextSummary, profiles.GATHER
)
RUN_PROGRAM = Step[RunProgramInput, StrategyOutput](
    Activity.RUN_PROGRAM, StrategyOutput, profiles.PROGRAM
)
RUN_PROMPT = Step[RunPromptInput, StrategyOutput](Activity.RUN_PROMPT, StrategyOutput, profiles.LLM)
# Why a local activity: the check is cheap and pure, so a server round trip per decision buys
# nothing; it is still retried and recorded like any activity.
CHECK_RISK = Step[RiskCheckInput, RiskVerdict](
    Activity.CHECK_RISK, RiskVerdict, profiles.RISK, local=True
)
RECORD_INTENTS = Step[RecordIntentsInput, RecordIntentsResult](
    Activity.RECORD_INTENTS, RecordIntentsResult, profiles.RECORD
)
# Why a local activity on paper: a paper fill is one database transaction on this worker, no
# venue I/O that could take long; a server round trip would double its cost.
PLACE_PAPER_ORDER = Step[OrderIntent, OrderOutcome](
    Activity.PLACE_ORDER, OrderOutcome, profiles.PAPER_ORDER
)
PLACE_ORDER = Step[OrderIntent, OrderOutcome](Activity.PLACE_ORDER, OrderOutcome, profiles.ORDER)
# Why a separate activity with schedule-to-close: it only looks the order up (never resends),
# with its own backoff and bound; see profiles.RESOLVE.
RESOLVE_ORDER = Step[ResolveOrderInput, OrderOutcome](
    Activity.RESOLVE_ORDER,
    OrderOutcome,
    profiles.RESOLVE,
    schedule_to_close=profiles.RESOLVE_SCHEDULE_TO_CLOSE,
)
FINISH_DECISION = Step[FinishDecisionInput, DecisionOutcome](
    Activity.FINISH_DECISION, DecisionOutcome, profiles.RECORD
)
# Why a local activity on paper: see profiles.PAPER_SYNC.
SYNC_PAPER_ACCOUNT = Step[SyncAccountInput, SyncAccountResult](
    Activity.SYNC_ACCOUNT, SyncAccountResult, profiles.PAPER_SYNC
)
SYNC_ACCOUNT = Step[SyncAccountInput, SyncAccountResult](
    Activity.SYNC_ACCOUNT, SyncAccountResult, profiles.SYNC
)
CANCEL_ORDER = Step[CancelOrderInput, CancelOrderResult](
    Activity.CANCEL_ORDER, CancelOrderResult, profiles.ORDER, local=False
)
# The signal pool's steps are normal activities: they run on the pools' own task queue.
LOAD_POOL = Step[PoolConfigInput, PoolConfig](
    Activity.LOAD_POOL, PoolConfig, profiles.CONFIG, local=False
)
EVALUATE_POOL = Step[EvaluatePoolInput, EvaluatePoolResult](
    Activity.EVALUATE_POOL, EvaluatePoolResult, profiles.CONTEXT, local=False
)
FAN_OUT_FIRE = Step[FanOutInput, FanOutResult](
    Activity.FAN_OUT_FIRE, FanOutResult, profiles.FAN_OUT, local=False
)

# Equity history's periodic jobs (workflows/equity.py): normal activities on the trader queue.
SAMPLE_EQUITY = Step[EquitySampleInput, EquitySampleResult](
    Activity.SAMPLE_EQUITY, EquitySampleResult, profiles.EQUITY_SAMPLE, local=False
)
THIN_EQUITY = Step[EquityThinInput, EquityThinResult](
    Activity.THIN_EQUITY, EquityThinResult, profiles.EQUITY_THIN, local=False
)


async def run(step: Step[In, Out], arg: In) -> Out:
    """Run `step` with `arg`: as a local activity when it is cheap (see domain/profiles.py),
    else as a normal one."""
    profile = step.profile
    if step.profile.local if step.local is None else step.local:
        # Why a local activity: the step runs on this worker without a server round trip
        # (~30 ms of dispatch each); it is still retried, and its result recorded in history.
        return await _local(step, arg)
    # Why a normal activity: long I/O (LLM, exchange) gets its own timeouts, heartbeats and
    # retries scheduled by the server, visible while in flight, and may run on any worker.
    result: Out = await workflow.execute_activity(
        step.name,
        arg,
        result_type=step.result,
        start_to_close_timeout=profile.start_to_close,
        schedule_to_close_timeout=step.schedule_to_close,
        heartbeat_timeout=profile.heartbeat,
        retry_policy=profile.retry,
    )
    return result


async def _local(step: Step[In, Out], arg: In) -> Out:
    try:
        result: Out = await workflow.execute_local_activity(
            step.name,
            arg,
            result_type=step.result,
            start_to_close_timeout=step.profile.start_to_close,
            retry_policy=step.profile.retry,
        )
        return result
    except (ApplicationError, TimeoutError) as err:
        # Why: a local activity that runs out of attempts raises its own failure in the
        # workflow, not the ActivityError of a normal one; every caller catches ActivityError,
        # so a failing local step fails its decision (closed), never the trader's workflow.
        raise ActivityError(
            "Local activity failed",
            scheduled_event_id=0,
            started_event_id=0,
            identity="",
            activity_type=str(step.name),
            activity_id="",
            retry_state=RetryState.NON_RETRYABLE_FAILURE
            if isinstance(err, ApplicationError) and err.non_retryable
            else RetryState.MAXIMUM_ATTEMPTS_REACHED,
        ) from err
