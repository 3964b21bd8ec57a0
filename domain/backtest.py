"""Program backtests as Temporal work: ProgramBacktestWorkflow (`backtest-<id>`) on the backtest
task queue runs one activity, `run_program_backtest`, that replays the whole run in memory
(strategies/backtest) and stores its report; a worker killed mid-run resumes from the last
checkpoint stored on the backtest's row.

Why one activity and not one per decision: a year of hourly bars is 8,760 decisions; as
activities they would cost tens of thousands of history events and about 50 decisions a second
at best (spec backtesting.md 8.6)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

# The activities' names (activities/backtest.py registers them under these).
RUN_PROGRAM_BACKTEST = "run_program_backtest"
RECORD_BACKTEST_STATUS = "record_backtest_status"


class BacktestKind(StrEnum):
    PROGRAM = "program"
    PROMPT = "prompt"


class BacktestStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (BacktestStatus.COMPLETED, BacktestStatus.FAILED, BacktestStatus.CANCELLED)


ACTIVE = (BacktestStatus.PENDING.value, BacktestStatus.RUNNING.value)


def workflow_id(backtest_id: int) -> str:
    return f"backtest-{backtest_id}"


class BacktestInput(BaseModel):
    backtest_id: int
    # How long the run's activity may go without a heartbeat before Temporal takes its worker
    # for dead and retries it (settings backtest_heartbeat_timeout_seconds).
    heartbeat_timeout_s: float = 30.0


class RunBacktestInput(BaseModel):
    backtest_id: int


class RunBacktestResult(BaseModel):
    status: BacktestStatus


class RecordBacktestStatusInput(BaseModel):
    backtest_id: int
    status: BacktestStatus
    error: str | None = None
