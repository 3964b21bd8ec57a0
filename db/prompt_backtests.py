"""Prompt backtests' storage: the tasks, their items (one per replayed decision or simulated
sample, written as each completes) and the LLM answer cache (README "Prompt backtests").

No secret is stored here: a task names its trader, whose sealed key is opened only inside the
activity that calls the model; a cache row holds the answer and its usage, keyed by a hash of
the request without the key (domain.prompt_backtest.cache_key)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, utcnow
from domain.money import plain
from domain.prompt_backtest import ItemStatus, Progress, TaskStatus


class PromptBacktestTask(Base):
    """One prompt backtest, run by PromptBacktestWorkflow (`prompt-backtest-<id>`).

    `config` holds what the run needs besides the columns: replay's decision ids and its
    template or find/replace rules, simulate's backtest config. The counters are updated as
    items complete; `estimate` is what the task was expected to cost when created."""

    __tablename__ = "prompt_backtest_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    prompt_id: Mapped[int | None]
    mode: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    temperature: Mapped[float] = mapped_column(default=0.0)
    use_cache: Mapped[bool] = mapped_column(default=True)
    concurrency: Mapped[int] = mapped_column(default=4)
    max_cost_usd: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(24), default=TaskStatus.PENDING)
    sample_count: Mapped[int]
    completed_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    cached_count: Mapped[int] = mapped_column(default=0)
    spent_cost_usd: Mapped[Decimal] = mapped_column(default=Decimal(0))
    estimate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Simulate mode: the engine's state after the last completed sample (BacktestEngine
    # .checkpoint), written with that sample's item, so a retried chunk resumes after it.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    workflow_id: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        Index("ix_prompt_backtest_tasks_owner", "owner_id", "id"),
        {"sqlite_autoincrement": True},
    )


class PromptBacktestItem(Base):
    """One replayed decision or simulated sample (`seq` from 0). `decision` is the new answer
    parsed (with the change against the recorded one in replay mode); `usage` its tokens;
    `cost` its USD cost (0 when answered from the cache, None when the price is unknown)."""

    __tablename__ = "prompt_backtest_items"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("prompt_backtest_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[int | None] = mapped_column(BigInteger, default=None)  # decision time, epoch ms
    source_decision_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.PENDING)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    original: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cost: Mapped[Decimal | None] = mapped_column(default=None)
    cached: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class LLMCacheEntry(Base):
    """A model's answer to one exact request (see domain.prompt_backtest.cache_key)."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- the cache


def cached_answer(s: Session, key: str) -> LLMCacheEntry | None:
    return s.get(LLMCacheEntry, key)


def store_answer(
    s: Session, key: str, model: str, response: dict[str, Any], usage: dict[str, Any]
) -> None:
    """First answer wins: another item asking the same thing at the same time keeps its own."""
    if s.get(LLMCacheEntry, key) is None:
        s.add(LLMCacheEntry(key=key, model=model, response=response, usage=usage))


# ---------------------------------------------------------------- items and counters


def pending_items(s: Session, task_id: int, from_seq: int, to_seq: int) -> list[PromptBacktestItem]:
    """The chunk's items not done yet, in order (a retried chunk skips those it completed)."""
    return list(
        s.scalars(
            select(PromptBacktestItem)
            .where(
                PromptBacktestItem.task_id == task_id,
                PromptBacktestItem.seq >= from_seq,
                PromptBacktestItem.seq < to_seq,
                PromptBacktestItem.status == ItemStatus.PENDING,
            )
            .order_by(PromptBacktestItem.seq)
        )
    )


def complete_item(s: Session, task_id: int, seq: int, **values: Any) -> bool:
    """Record an item's outcome and move the task's counters, once: False (nothing written)
    when the item was completed already or the task has ended (cancelled meanwhile)."""
    task = s.get(PromptBacktestTask, task_id)
    if task is None or TaskStatus(task.status).final:
        return False
    done = s.execute(
        update(PromptBacktestItem)
        .where(
            PromptBacktestItem.task_id == task_id,
            PromptBacktestItem.seq == seq,
            PromptBacktestItem.status == ItemStatus.PENDING,
        )
        .values(completed_at=utcnow(), **values)
        .returning(PromptBacktestItem.seq)
    ).first()
    if done is None:
        return False
    if values.get("status") == ItemStatus.FAILED:
        task.failed_count += 1
    else:
        task.completed_count += 1
    if values.get("cached"):
        task.cached_count += 1
    task.spent_cost_usd += values.get("cost") or Decimal(0)
    return True


def complete_sample(
    s: Session, task_id: int, seq: int, checkpoint: dict[str, Any], **values: Any
) -> bool:
    """A simulate-mode sample and the engine's state after it, in one transaction."""
    if not complete_item(s, task_id, seq, **values):
        return False
    task = s.get(PromptBacktestTask, task_id)
    assert task is not None
    task.checkpoint = checkpoint
    return True


def load_checkpoint(s: Session, task_id: int) -> dict[str, Any] | None:
    return s.scalar(select(PromptBacktestTask.checkpoint).where(PromptBacktestTask.id == task_id))


def progress(s: Session, task_id: int) -> Progress:
    task = s.get(PromptBacktestTask, task_id)
    if task is None:
        raise LookupError(f"prompt backtest {task_id} not found")
    return Progress(
        completed=task.completed_count,
        total=task.sample_count,
        cached=task.cached_count,
        failed=task.failed_count,
        spent_cost_usd=plain(task.spent_cost_usd),
    )


def set_status(
    s: Session, task_id: int, status: TaskStatus, error: str | None = None
) -> PromptBacktestTask | None:
    """Move a task to `status`; a task that has ended stays as it ended (a cancel recorded by
    the API is not overwritten by the workflow's finish)."""
    task = s.get(PromptBacktestTask, task_id)
    if task is None:
        return None
    current = TaskStatus(task.status)
    if current.final and status != TaskStatus.PENDING:
        return task
    task.status = status
    if status == TaskStatus.RUNNING and task.started_at is None:
        task.started_at = utcnow()
    if status.final:
        task.finished_at = utcnow()
        task.error = error
    return task


def skip_pending(s: Session, task_id: int) -> None:
    """Items never asked, once the task has ended: a retry asks only the failed ones."""
    s.execute(
        update(PromptBacktestItem)
        .where(
            PromptBacktestItem.task_id == task_id,
            PromptBacktestItem.status == ItemStatus.PENDING,
        )
        .values(status=ItemStatus.SKIPPED)
    )


def items_of(s: Session, task_id: int) -> list[PromptBacktestItem]:
    return list(
        s.scalars(
            select(PromptBacktestItem)
            .where(PromptBacktestItem.task_id == task_id)
            .order_by(PromptBacktestItem.seq)
        )
    )


def reset_failed(s: Session, task_id: int) -> int:
    """Failed items back to pending for a retry; the task's failed counter follows."""
    task = s.get(PromptBacktestTask, task_id)
    if task is None:
        return 0
    failed = list(
        s.scalars(
            update(PromptBacktestItem)
            .where(
                PromptBacktestItem.task_id == task_id,
                PromptBacktestItem.status == ItemStatus.FAILED,
            )
            .values(status=ItemStatus.PENDING, error=None, completed_at=None)
            .returning(PromptBacktestItem.seq)
        )
    )
    task.failed_count = 0
    task.status = TaskStatus.PENDING
    task.finished_at = None
    task.error = None
    return len(failed)


def count_items(s: Session, task_id: int) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(PromptBacktestItem)
            .where(PromptBacktestItem.task_id == task_id)
        )
        or 0
    )
