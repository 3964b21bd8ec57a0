"""Equity history: the periodic sample of every trader that needs one, and the thinning of old
points (adapters/equity.py does the work; the schedules that run them: runtime/schedules.py)."""

from __future__ import annotations

from temporalio import activity

from activities.heartbeat import with_heartbeats
from adapters.equity import EquitySampler
from domain.contracts import Activity
from domain.equity import EquitySampleInput, EquitySampleResult, EquityThinInput, EquityThinResult


class EquityActivities:
    def __init__(self, sampler: EquitySampler) -> None:
        self.sampler = sampler

    @activity.defn(name=Activity.SAMPLE_EQUITY)
    async def sample_equity(self, req: EquitySampleInput) -> EquitySampleResult:
        return await with_heartbeats(self.sampler.sample())

    @activity.defn(name=Activity.THIN_EQUITY)
    async def thin_equity(self, req: EquityThinInput) -> EquityThinResult:
        return await with_heartbeats(self.sampler.thin(req.now))
