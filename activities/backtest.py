"""Backtest activities, on the backtest queue: run a whole program backtest
(strategies/backtest/runner.py does the work) and record a run's final status."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import activity

from db.backtests import set_status
from db.session import Sessions
from domain.backtest import (
    RECORD_BACKTEST_STATUS,
    RUN_PROGRAM_BACKTEST,
    RecordBacktestStatusInput,
    RunBacktestInput,
    RunBacktestResult,
)
from domain.paper import PaperConfig
from sandbox.runner import SandboxLimits
from strategies.backtest.runner import BacktestRunner, Hooks

HEARTBEAT_EVERY_S = 1.0


def _cancel_requested() -> bool:
    details = activity.cancellation_details()
    return bool(details and details.cancel_requested)


class BacktestActivities:
    def __init__(
        self,
        sessions: Sessions,
        limits: SandboxLimits,
        mode: str | None = None,
        paper: PaperConfig = PaperConfig(),
    ) -> None:
        self.sessions = sessions
        self.runner = BacktestRunner(sessions, limits, mode, paper)

    @activity.defn(name=RUN_PROGRAM_BACKTEST)
    async def run_program_backtest(self, req: RunBacktestInput) -> RunBacktestResult:
        # Why a ticker besides the progress reports: loading a year of candles, or one slow
        # decision, must not look like a dead worker; a worker that is really gone stops both.
        ticker = asyncio.create_task(_tick())
        try:
            status = await self.runner.run(
                req.backtest_id, Hooks(activity.heartbeat, _cancel_requested)
            )
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        return RunBacktestResult(status=status)

    @activity.defn(name=RECORD_BACKTEST_STATUS)
    async def record_status(self, req: RecordBacktestStatusInput) -> None:
        await set_status(self.sessions, req.backtest_id, req.status, req.error)


async def _tick() -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY_S)
        activity.heartbeat()
