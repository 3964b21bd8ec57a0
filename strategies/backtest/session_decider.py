"""A program backtest's `Decide` (strategies/backtest/contract.py) on a sandbox backtest session.

`ProgramSessionDecider(code, candles, limits, seed)` opens one session for the run
(sandbox/backtest_session.py): the candles go to the sandbox once, and each step sends only
`StepInput.account`, `at_ms` and `step`. Its answers equal `run_program` on the full snapshot
of the step (the same 100-candle windows), in backtest mode (seeded, on the simulated clock).
A program's failure is a `StepOutcome` with the live error code, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from domain.decision import Decision
from sandbox.backtest_candles import Candles
from sandbox.backtest_session import BacktestSession
from sandbox.runner import SandboxLimits, SandboxResult
from strategies.backtest.contract import StepInput, StepOutcome
from strategies.backtest.history import MarketHistory


class ProgramSessionDecider:
    def __init__(
        self,
        code: str,
        candles: Candles,
        limits: SandboxLimits = SandboxLimits(),
        seed: int = 0,
        *,
        mode: str | None = None,
    ) -> None:
        self.session = BacktestSession(code, candles, limits, seed, mode=mode)

    @classmethod
    def for_history(
        cls,
        code: str,
        history: MarketHistory,
        limits: SandboxLimits = SandboxLimits(),
        seed: int = 0,
        *,
        mode: str | None = None,
    ) -> ProgramSessionDecider:
        """A decider over a run's history: its candles in the live snapshot's order (symbols
        sorted, then 1m, 5m, 15m, 1h and the run's own 4h or 1d), so a step's snapshot is the
        engine's `StepInput.snapshot()` byte for byte."""
        candles: dict[tuple[str, str], tuple[Sequence[int], Sequence[Sequence[float]]]] = {}
        for symbol in history.symbols:
            for iv in history.intervals:
                rows = history.kline_rows(symbol, iv)
                candles[(symbol, iv.value)] = (history.close_times(symbol, iv), rows)
        return cls(code, candles, limits, seed, mode=mode)

    async def __aenter__(self) -> ProgramSessionDecider:
        await self.session.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.session.close()

    async def __call__(self, step: StepInput) -> StepOutcome:
        result = await self.session.step(step.step, step.at_ms, step.account)
        return outcome_of(result)


def outcome_of(result: SandboxResult) -> StepOutcome:
    """A sandbox result as the engine takes it (as live: strategies/program.py)."""
    if result.ok and result.decision is not None:
        decision = Decision.model_validate(result.decision)
        return StepOutcome(decision, run_ms=result.duration_ms, logs=result.logs)
    return StepOutcome(
        None,
        error_code=result.error_code,
        error=result.error,
        run_ms=result.duration_ms,
        logs=result.logs,
    )
