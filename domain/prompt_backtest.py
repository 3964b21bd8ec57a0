"""Prompt backtests (README "Prompt backtests"): a prompt re-run on history with the trader's own
model, as PromptBacktestWorkflow (`prompt-backtest-<task id>`) on the backtest task queue.

Replay mode re-asks recorded decisions (their snapshots are point in time by construction) with
an edited template or find/replace rules and reports what changed; simulate mode walks history
with the backtest engine and asks the model at `sample_count` bar closes.

What the workflow and its activities exchange, the task's statuses, the LLM cache key, and the
pure rules: how a changed decision is classified, what the replay summary counts, the
knowledge-cutoff warning.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from domain.decision import Operation
from domain.money import plain

# The activities' names (activities/prompt_backtest.py registers them under these).
START_TASK = "prompt_backtest_start"
RUN_CHUNK = "prompt_backtest_run_chunk"
FINISH_TASK = "prompt_backtest_finish"

CHUNK_ITEMS = 25  # items per chunk activity: the budget is checked between chunks
DEFAULT_CONCURRENCY = 4  # replay items asked at once (they are independent)
MAX_ITEMS = 10_000  # samples or replayed decisions per task; more is a 422 RANGE_TOO_LARGE
CHUNKS_PER_RUN = 200  # chunks before continue-as-new: the history stays far below 10k events


def workflow_id(task_id: int) -> str:
    return f"prompt-backtest-{task_id}"


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_BUDGET = "completed_budget"  # stopped at max_cost_usd; results cover what ran
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING)


class Mode(StrEnum):
    REPLAY = "replay"
    SIMULATE = "simulate"


class ItemStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # never asked: the task was cancelled, failed or ran out of budget


class TaskInput(BaseModel):
    task_id: int
    total: int  # items in the task
    next_seq: int = 0  # where this run starts (a continued-as-new run carries it over)
    max_cost_usd: str | None = None


class ChunkInput(BaseModel):
    task_id: int
    from_seq: int
    to_seq: int  # exclusive


class Progress(BaseModel):
    """The task's counters as stored after a chunk (the `progress` query's answer)."""

    completed: int = 0
    total: int = 0
    cached: int = 0
    failed: int = 0
    spent_cost_usd: str = "0"
    equity: str | None = None  # simulate mode: the simulated equity at the last sample


class FinishInput(BaseModel):
    task_id: int
    status: TaskStatus
    error: str | None = None


def sample_steps(n: int, sample_count: int) -> list[int]:
    """Simulate mode's decision steps among n bar closes: every one when n <= sample_count,
    else every stride-th from the first, stride = ceil(n / sample_count)."""
    if n <= sample_count:
        return list(range(n))
    stride = -(-n // sample_count)
    return list(range(0, n, stride))


# ---------------------------------------------------------------- the LLM cache key


def cache_key(
    base_url: str,
    model: str,
    temperature: float | None,
    seed: int | None,
    max_tokens: int | None,
    response_format: str | None,
    system: str,
    user: str,
) -> str:
    """sha256 over everything that shapes the answer and nothing secret (never the key): the
    same request to the same endpoint is answered from the cache."""
    parts = [base_url, model, temperature, seed, max_tokens, response_format or "", system, user]
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prompt_hash(system: str, user: str) -> str:
    return hashlib.sha256(f"{system}\n\x00\n{user}".encode()).hexdigest()


# ---------------------------------------------------------------- replay: what changed


class Change(StrEnum):
    UNCHANGED = "unchanged"
    FLIPPED_DIRECTION = "flipped_direction"  # long -> short or short -> long
    ENTRY_TO_HOLD = "entry_to_hold"  # long/short -> hold
    HOLD_TO_ENTRY = "hold_to_entry"  # hold -> long/short
    OTHER = "other"  # any other change (a close added or dropped, another symbol)


ENTRIES = (Operation.LONG, Operation.SHORT)


def classify(
    old_op: str | None, old_symbol: str | None, new_op: str, new_symbol: str | None
) -> Change:
    """How the replayed decision differs from the recorded one (operation, and the symbol of an
    entry or close)."""
    if old_op == new_op and (new_op == Operation.HOLD or old_symbol == new_symbol):
        return Change.UNCHANGED
    if old_op in ENTRIES and new_op in ENTRIES and old_op != new_op:
        return Change.FLIPPED_DIRECTION
    if old_op in ENTRIES and new_op == Operation.HOLD:
        return Change.ENTRY_TO_HOLD
    if old_op == Operation.HOLD and new_op in ENTRIES:
        return Change.HOLD_TO_ENTRY
    return Change.OTHER


def replay_summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The replay summary over done items, each `{"change", "original_pnl"}` (`original_pnl`:
    the net PnL of the round trip the recorded decision opened, a decimal string or None).

    An entry the new prompt would not have taken (entry_to_hold, or flipped_direction: the
    recorded trade is not taken either way) avoided its loss or missed its profit: the original
    round trip's net PnL, as recorded. A hold that became an entry is counted, not priced."""
    counts = {c.value: 0 for c in Change}
    avoided_n = missed_n = 0
    avoided, missed = Decimal(0), Decimal(0)
    for item in items:
        change = Change(item["change"])
        counts[change.value] += 1
        pnl = item.get("original_pnl")
        if change not in (Change.ENTRY_TO_HOLD, Change.FLIPPED_DIRECTION) or pnl is None:
            continue
        value = Decimal(pnl)
        if value < 0:
            avoided_n, avoided = avoided_n + 1, avoided - value
        elif value > 0:
            missed_n, missed = missed_n + 1, missed + value
    changed = len(items) - counts[Change.UNCHANGED.value]
    return {
        "changed": changed,
        "unchanged": counts[Change.UNCHANGED.value],
        "flipped_direction": counts[Change.FLIPPED_DIRECTION.value],
        "entry_to_hold": counts[Change.ENTRY_TO_HOLD.value],
        "hold_to_entry": counts[Change.HOLD_TO_ENTRY.value],
        "other_changes": counts[Change.OTHER.value],
        "avoided_loss": {"count": avoided_n, "amount": plain(avoided)},
        "missed_profit": {"count": missed_n, "amount": plain(missed)},
    }


# ---------------------------------------------------------------- parametric lookahead


class LookaheadRisk(StrEnum):
    HIGH = "high"
    LOW = "low"
    UNKNOWN = "unknown"


def lookahead(cutoff: date | None, window_start: date) -> tuple[LookaheadRisk, str | None]:
    """(lookahead_risk, cutoff_warning) for a window starting at `window_start`: high when it
    starts before the model's knowledge cutoff (the model may have read what happened), low when
    it lies entirely after it, unknown when the cutoff is not known."""
    if cutoff is None:
        return LookaheadRisk.UNKNOWN, (
            "unknown cutoff: the model's knowledge cutoff is not known, so it may have been "
            "trained on this window; prefer a window you know is after its cutoff"
        )
    if window_start < cutoff:
        return LookaheadRisk.HIGH, (
            f"the window starts {window_start.isoformat()}, before the model's knowledge cutoff "
            f"{cutoff.isoformat()}: it may recall what happened (lookahead); prefer a window "
            "after the cutoff"
        )
    return LookaheadRisk.LOW, None
