"""Running a trader's program in the sandbox (strategies/program.py). User-code failures are
results, never retries."""

from __future__ import annotations

from temporalio import activity

from activities.heartbeat import with_heartbeats
from activities.outage import attempts_unless_database_outage
from db.session import Sessions
from domain import profiles
from domain.contracts import Activity, RunProgramInput, StrategyOutput
from sandbox.runner import SandboxLimits
from strategies.handoff import SnapshotHandOff
from strategies.program import ProgramRunner


class StrategyActivities:
    def __init__(
        self,
        sessions: Sessions,
        limits: SandboxLimits,
        max_concurrent: int | None = None,
        mode: str | None = None,
        handoff: SnapshotHandOff | None = None,
    ) -> None:
        self.programs = ProgramRunner(sessions, limits, max_concurrent, mode, handoff)

    @activity.defn(name=Activity.RUN_PROGRAM)
    async def run_program(self, req: RunProgramInput) -> StrategyOutput:
        with attempts_unless_database_outage(profiles.PROGRAM.attempts):
            # Heartbeats while the program runs (or waits for a sandbox slot).
            return await self.programs.run(req, while_running=with_heartbeats)
