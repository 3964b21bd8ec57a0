"""Program strategies: the trader's bound program run in the sandbox on its decision's input
snapshot. User-code failures are results, never retries; the output is decided once (see
db/decisions.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.orm import Session

from db.decisions import input_snapshot, record_output, recorded_output
from db.session import Sessions
from db.traders import ProgramSource, bound_program
from db.transactions import read, write
from domain.contracts import RunProgramInput, StrategyOutput
from domain.decision import Decision
from sandbox.runner import SandboxLimits, SandboxResult, default_mode, run_program
from strategies.handoff import SnapshotHandOff

# How the caller waits for the sandbox (an activity heartbeats meanwhile).
WhileRunning = Callable[[Coroutine[Any, Any, SandboxResult]], Awaitable[SandboxResult]]


def sandbox_slots(mode: str) -> int:
    """Concurrent program runs per worker (see ProgramRunner)."""
    cores = os.cpu_count() or 2
    return max(2, cores) if mode == "spawn" else max(8, 4 * cores)


async def _plainly(work: Coroutine[Any, Any, SandboxResult]) -> SandboxResult:
    return await work


class ProgramRunner:
    def __init__(
        self,
        sessions: Sessions,
        limits: SandboxLimits,
        max_concurrent: int | None = None,
        mode: str | None = None,
        handoff: SnapshotHandOff | None = None,
    ) -> None:
        self.sessions = sessions
        self.handoff = handoff
        self.limits = limits
        self.mode = mode or default_mode()
        # Why a bound: in spawn mode each run is a fresh interpreter that costs ~0.1 s of CPU to
        # start; past the core count more concurrent runs only starve each other (and the
        # heartbeats). A forked run costs a few ms, so typical programs finish long before a
        # slot matters and a few slow ones must not hold up the rest: 4 per core. A queued run
        # waits here, heartbeating, and its wall clock starts once it has a slot.
        self.slots = asyncio.Semaphore(max_concurrent or sandbox_slots(self.mode))

    async def run(
        self, req: RunProgramInput, while_running: WhileRunning = _plainly
    ) -> StrategyOutput:
        """The decision's strategy output: the one recorded already, or this run's, recorded."""
        handed = self.handoff.take(req.decision_id) if self.handoff is not None else None
        # Handed over in memory: this attempt stored the decision's row just now, so no output
        # can be recorded for it yet (the conditional write in _record still holds the line).
        recorded, program, snapshot = await read(
            self.sessions, lambda s: program_and_snapshot(s, req, need_snapshot=handed is None)
        )
        if recorded is not None:  # decided once: an earlier attempt's output stands
            return StrategyOutput.model_validate(recorded)
        if handed is not None:
            snapshot = handed.snapshot
        if program is None:
            out = StrategyOutput(
                ok=False,
                error_code="NO_STRATEGY_BOUND",
                error=f"binding {req.binding_id} has no program",
            )
            return await self._record(req.decision_id, out, logs="")
        encoded = handed.encoded if handed is not None else None
        result = await while_running(self._run(program.code, snapshot or {}, encoded))
        if result.ok and result.decision is not None:
            out = StrategyOutput(ok=True, decision=Decision.model_validate(result.decision))
        else:
            out = StrategyOutput(ok=False, error_code=result.error_code, error=result.error)
        return await self._record(
            req.decision_id,
            out,
            logs=result.logs,
            program_id=program.id,
            duration_ms=result.duration_ms,
        )

    async def _run(
        self, code: str, snapshot: dict[str, Any], encoded: bytes | None = None
    ) -> SandboxResult:
        async with self.slots:
            return await run_program(
                code, snapshot, self.limits, mode=self.mode, snapshot_json=encoded
            )

    async def _record(
        self,
        decision_id: str,
        out: StrategyOutput,
        logs: str,
        program_id: int | None = None,
        duration_ms: int | None = None,
    ) -> StrategyOutput:
        """Record the output, or return the one an earlier attempt recorded (which stands)."""

        def record(s: Session) -> Any:
            values: dict[str, Any] = {
                "output": {
                    "program_id": program_id,
                    "decision": out.decision.model_dump(mode="json") if out.decision else None,
                    "run_ms": duration_ms,
                },
                "logs": logs or None,
            }
            if not out.ok:
                values.update(error_code=out.error_code, error=out.error)
            return record_output(s, decision_id, out.model_dump(mode="json"), **values)

        earlier = await write(self.sessions, record)
        return out if earlier is None else StrategyOutput.model_validate(earlier)


def program_and_snapshot(
    s: Session, req: RunProgramInput, need_snapshot: bool
) -> tuple[Any, ProgramSource | None, dict[str, Any] | None]:
    """The strategy output an earlier attempt recorded (None: none yet), the bound program's
    current source and (unless handed over in memory) the decision's stored input snapshot;
    LookupError if that snapshot is missing."""
    if need_snapshot:
        recorded = recorded_output(s, req.decision_id)
        if recorded is not None:
            return recorded, None, None
    program = bound_program(s, req.binding_id)
    snapshot = input_snapshot(s, req.decision_id) if need_snapshot else None
    return None, program, snapshot
