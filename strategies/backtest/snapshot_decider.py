"""The reference program decider: the live call, `sandbox.runner.run_program` on the full
snapshot, once per step. Slow (the whole snapshot is sent every step) but the same path as a
live decision by construction: the faster session decider is checked against it. Like every
backtest run it is deterministic: seeded by `seed` and the step, on the simulated clock
(sandbox/determinism.py)."""

from __future__ import annotations

from pydantic import ValidationError

from domain.decision import Decision
from sandbox.determinism import BacktestContext
from sandbox.runner import SandboxLimits, default_mode, run_program
from strategies.backtest.contract import StepInput, StepOutcome

INVALID_DECISION = "INVALID_DECISION"


class ProgramSnapshotDecider:
    def __init__(
        self,
        code: str,
        limits: SandboxLimits = SandboxLimits(),
        mode: str | None = None,
        seed: int = 0,
    ) -> None:
        self.code = code
        self.limits = limits
        self.mode = mode or default_mode()
        self.seed = seed

    async def __call__(self, step: StepInput) -> StepOutcome:
        context = BacktestContext(self.seed, step.step, step.at_ms)
        result = await run_program(
            self.code, step.snapshot(), self.limits, mode=self.mode, backtest=context
        )
        if not result.ok or result.decision is None:
            return StepOutcome(
                None, result.error_code, result.error, result.duration_ms, result.logs
            )
        try:
            decision = Decision.model_validate(result.decision)
        except ValidationError as exc:  # the sandbox validates already: a defence, not a path
            return StepOutcome(None, INVALID_DECISION, str(exc), result.duration_ms, result.logs)
        return StepOutcome(decision, run_ms=result.duration_ms, logs=result.logs)
