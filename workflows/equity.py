"""Equity history's periodic jobs, each run by a Temporal Schedule (runtime/schedules.py):
`EquitySampleWorkflow` every 60 s records a point for every trader that is active or holds
positions; `EquityThinWorkflow` thins old points.

Why a schedule and one short workflow per tick, not a timer in every trader: a trader's history
would grow by a timer and an activity a minute for life (and a paused trader with no position
has no reason to wake at all), while one pass over all traders values the paper ones together
from a single read and one price per symbol. The schedule is Temporal's own (durable, visible,
paused and triggered from the UI or CLI); a tick missed while no worker runs is skipped, not
replayed (a stale point is worth nothing), and ticks never overlap.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.equity import (
        EquitySampleInput,
        EquitySampleResult,
        EquityThinInput,
        EquityThinResult,
    )
    from workflows import steps


@workflow.defn(name="EquitySampleWorkflow")
class EquitySampleWorkflow:
    @workflow.run
    async def run(self, input: EquitySampleInput) -> EquitySampleResult:
        return await steps.run(steps.SAMPLE_EQUITY, input)


@workflow.defn(name="EquityThinWorkflow")
class EquityThinWorkflow:
    @workflow.run
    async def run(self, input: EquityThinInput | None = None) -> EquityThinResult:
        # The schedule starts it without an argument: thinning is as of the workflow's time.
        now = input.now if input is not None else workflow.now()
        return await steps.run(steps.THIN_EQUITY, EquityThinInput(now=now))
