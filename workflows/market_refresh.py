"""MarketRefreshWorkflow: one pass of the market-history refresh (domain/market_refresh.py),
started by its Temporal Schedule (runtime/schedules.py) on the backfill task queue.

One activity: storing a settlement is idempotent, so a retried pass writes nothing twice; a pass
that fails for good gives way to the next tick.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.market_refresh import (
        REFRESH_MARKET_HISTORY,
        MarketRefreshInput,
        MarketRefreshResult,
    )


@workflow.defn(name="MarketRefreshWorkflow")
class MarketRefreshWorkflow:
    @workflow.run
    async def run(self, input: MarketRefreshInput | None = None) -> MarketRefreshResult:
        req = input or MarketRefreshInput()
        if req.now_ms is None:
            now = int(workflow.now().timestamp() * 1000)
            req = req.model_copy(update={"now_ms": now})
        result: MarketRefreshResult = await workflow.execute_activity(
            REFRESH_MARKET_HISTORY,
            req,
            result_type=MarketRefreshResult,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return result
