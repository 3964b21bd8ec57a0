"""BacktestRunner: one program backtest from its stored row to its stored results (the body of
the `run_program_backtest` activity; spec backtesting.md 8.6).

It loads the row, the program's code and the run's history, restores the engine from the row's
checkpoint when there is one (a run whose worker died resumes there, to the same result), and
runs it. Each progress report heartbeats and stores steps_done; every CHECKPOINT_SECONDS or
CHECKPOINT_STEPS it also stores a checkpoint. The end stores the report and `completed`; a
cancellation the partial report and `cancelled`; an error of the run itself `failed` with it.

Why the engine runs in a task of its own: a cancellation reaches the activity as
CancelledError wherever it waits; the runner turns it into a stop at the engine's next
progress report (the point where the engine promises a consistent state), and only then
builds the partial report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.backtests import (
    Results,
    Sessions,
    load_backtest,
    program_code,
    save_progress,
    set_status,
    store_results,
)
from domain.backtest import BacktestStatus
from domain.paper import PaperConfig
from sandbox.runner import SandboxLimits
from strategies.backtest.contract import BacktestConfig, BacktestReport, CoverageError, Decide
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import load_history
from strategies.backtest.session_decider import ProgramSessionDecider
from strategies.backtest.stored_config import from_stored

log = logging.getLogger("hyperoru.backtest")

CHECKPOINT_SECONDS = 5.0
CHECKPOINT_STEPS = 1000
# After a cancellation, how long the engine may take to reach its next progress report
# (at most one decision plus a second) before it is cancelled where it is.
STOP_GRACE_S = 10.0


class StopRun(Exception):
    """Raised from the progress callback: the run stops here (cancelled)."""


@dataclass
class Hooks:
    """What the runner needs of its activity: a heartbeat, and whether a cancellation it
    receives was asked for (a user's cancel) rather than a worker shutdown or a timeout."""

    heartbeat: Callable[..., None]
    cancel_requested: Callable[[], bool]


def results_of(report: BacktestReport) -> Results:
    return Results(
        trades=report.trades,
        equity=report.equity,
        decisions=report.decisions,
        metrics=report.metrics,
        result_hash=report.result_hash,
    )


def coverage_message(err: CoverageError) -> str:
    from datetime import UTC, datetime

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat()

    ranges = "; ".join(f"{s} {iv} {iso(a)} to {iso(b)}" for s, iv, a, b in err.missing[:20])
    more = f" (and {len(err.missing) - 20} more)" if len(err.missing) > 20 else ""
    return f"No stored candles for: {ranges}{more}"


class BacktestRunner:
    def __init__(
        self,
        sessions: Sessions,
        limits: SandboxLimits,
        mode: str | None = None,
        paper: PaperConfig = PaperConfig(),
    ) -> None:
        self.sessions, self.limits, self.mode, self.paper = sessions, limits, mode, paper

    async def run(self, backtest_id: int, hooks: Hooks) -> BacktestStatus:
        row = await load_backtest(self.sessions, backtest_id)
        if row is None:  # deleted before it ran
            return BacktestStatus.CANCELLED
        if BacktestStatus(row.status).final:
            return BacktestStatus(row.status)
        try:
            config = from_stored(row.config, self.paper)
        except ValueError as err:
            return await self._fail(backtest_id, str(err))
        code = await program_code(self.sessions, row.program_id)
        if code is None:  # deleted since (the row's program_id is then null)
            return await self._fail(backtest_id, "The program was deleted before the run started")
        row = await set_status(self.sessions, backtest_id, BacktestStatus.RUNNING)
        if row is None or BacktestStatus(row.status).final:
            return BacktestStatus(row.status) if row else BacktestStatus.CANCELLED
        return await self._replay(backtest_id, config, code, row.checkpoint, hooks)

    async def _fail(self, backtest_id: int, error: str) -> BacktestStatus:
        row = await set_status(self.sessions, backtest_id, BacktestStatus.FAILED, error[:2000])
        return BacktestStatus(row.status) if row else BacktestStatus.FAILED

    async def _replay(
        self,
        backtest_id: int,
        config: BacktestConfig,
        code: str,
        checkpoint: dict[str, Any] | None,
        hooks: Hooks,
    ) -> BacktestStatus:
        try:
            history = await load_history(self.sessions, config)
        except CoverageError as err:
            return await self._fail(backtest_id, f"DATA_COVERAGE: {coverage_message(err)}")
        except ValueError as err:
            return await self._fail(backtest_id, str(err))
        try:
            engine = (
                BacktestEngine.restore(config, history, checkpoint)
                if checkpoint
                else BacktestEngine(config, history)
            )
        except (ValueError, KeyError, TypeError) as err:  # a checkpoint of another version
            log.warning("backtest %s: checkpoint unusable (%r), starting over", backtest_id, err)
            engine = BacktestEngine(config, history)
        # One sandbox session for the run: the candles go to it once, each step sends only the
        # account (sandbox/backtest_session.py); seeded and on the simulated clock.
        decider = ProgramSessionDecider.for_history(
            code, history, self.limits, config.seed, mode=self.mode
        )
        async with decider:
            return await self._drive(backtest_id, engine, decider, hooks)

    async def _drive(
        self, backtest_id: int, engine: BacktestEngine, decide: Decide, hooks: Hooks
    ) -> BacktestStatus:
        stop = asyncio.Event()
        last = {"at": time.monotonic(), "step": engine.steps_done}

        async def progress(done: int, total: int, equity: Decimal) -> None:
            hooks.heartbeat({"step": done, "total": total, "equity": str(equity)})
            if stop.is_set():
                raise StopRun
            due = (
                time.monotonic() - last["at"] >= CHECKPOINT_SECONDS
                or done - last["step"] >= CHECKPOINT_STEPS
            )
            saved = engine.checkpoint() if due and done < total else None
            if saved is not None:
                last["at"], last["step"] = time.monotonic(), done
            if not await save_progress(self.sessions, backtest_id, done, total, saved):
                raise StopRun  # cancelled (or deleted) meanwhile

        work = asyncio.create_task(engine.run(decide, progress=progress))
        try:
            await asyncio.shield(work)
        except StopRun:
            return await self._store(backtest_id, engine, BacktestStatus.CANCELLED)
        except asyncio.CancelledError:
            if not hooks.cancel_requested():
                # A worker shutdown or a timeout: another attempt resumes from a checkpoint of
                # where this one got (the engine undoes a step it was interrupted in).
                work.cancel()
                with contextlib.suppress(BaseException):
                    await work
                with contextlib.suppress(Exception):
                    await save_progress(
                        self.sessions,
                        backtest_id,
                        engine.steps_done,
                        engine.total_steps,
                        engine.checkpoint(),
                    )
                raise
            stop.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(work, STOP_GRACE_S)
            await self._store(backtest_id, engine, BacktestStatus.CANCELLED)
            raise
        except Exception as err:
            log.exception("backtest %s failed", backtest_id)
            return await self._fail(backtest_id, f"{type(err).__name__}: {err}")
        return await self._store(backtest_id, engine, BacktestStatus.COMPLETED)

    async def _store(
        self, backtest_id: int, engine: BacktestEngine, status: BacktestStatus
    ) -> BacktestStatus:
        report: BacktestReport = engine.report()
        row = await store_results(
            self.sessions,
            backtest_id,
            status,
            results_of(report),
            engine.steps_done,
            engine.total_steps,
        )
        return BacktestStatus(row.status) if row else status
