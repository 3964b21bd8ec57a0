"""Running a prompt backtest task's items, a chunk at a time (the activities of
activities/prompt_backtest.py call this).

Each item is stored as it completes (with the task's counters, in one transaction), so a chunk
retried after a worker died asks only the items it had not finished. Replay items are
independent and run `concurrency` at a time; cancelling the chunk (Temporal's cancellation,
through its heartbeat) abandons the items in flight and keeps those stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from adapters.llm.client import LLMError
from db.prompt_backtests import (
    PromptBacktestTask,
    complete_item,
    items_of,
    pending_items,
    progress,
    set_status,
    skip_pending,
)
from db.session import Sessions
from db.transactions import read, write
from domain.prompt_backtest import (
    ChunkInput,
    FinishInput,
    ItemStatus,
    Mode,
    Progress,
    TaskStatus,
    replay_summary,
)
from strategies.prompt_backtest import sim_run
from strategies.prompt_backtest.replay import ReplayTask, Rule, run_item
from strategies.prompt_run import call_config
from vault import KeyWrapper


class PromptBacktestRunner:
    def __init__(
        self, sessions: Sessions, vault: KeyWrapper, timeout_s: float, allow_private_hosts: bool
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.timeout_s = timeout_s
        self.allow_private_hosts = allow_private_hosts
        self.histories = sim_run.Histories()

    async def start(self, task_id: int) -> None:
        await write(self.sessions, lambda s: set_status(s, task_id, TaskStatus.RUNNING))

    async def run_chunk(self, req: ChunkInput, on_item: Callable[[int], None]) -> Progress:
        """Raises LLMError (the call failed) or TaskProblem."""
        mode = await read(self.sessions, lambda s: _mode(s, req.task_id))
        if mode == Mode.SIMULATE:
            return await sim_run.run_chunk(
                self.sessions,
                self.vault,
                self.timeout_s,
                self.allow_private_hosts,
                req,
                on_item,
                self.histories,
            )
        loaded = await read(self.sessions, lambda s: self._load(s, req))
        if loaded is None:  # ended meanwhile (cancelled, deleted): nothing more to ask
            return await read(self.sessions, lambda s: progress(s, req.task_id))
        task, items = loaded
        limit = asyncio.Semaphore(max(1, task.concurrency))

        async def one(item: Any) -> None:
            async with limit:
                values = await run_item(self.sessions, task, item)
                await write(
                    self.sessions, lambda s: complete_item(s, req.task_id, item.seq, **values)
                )
                on_item(item.seq)

        # Why a TaskGroup: the first failure (or a cancellation) cancels the items in flight;
        # those stored stay, and a retry asks only the rest.
        try:
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(one(item))
        except ExceptionGroup as failed:
            raise _first(failed) from None
        return await read(self.sessions, lambda s: progress(s, req.task_id))

    def _load(self, s: Session, req: ChunkInput) -> tuple[ReplayTask, list[Any]] | None:
        row = s.get(PromptBacktestTask, req.task_id)
        if row is None or TaskStatus(row.status).final:
            return None
        acct = sim_run.usable_trader(s, row.account_id)
        cfg = call_config(
            acct, self.vault, self.timeout_s, self.allow_private_hosts, row.temperature
        )
        rules = [Rule(r["find"], r["replace"]) for r in row.config.get("replace_rules") or []]
        task = ReplayTask(
            task_id=row.id,
            account_id=acct.id,
            provider=acct.llm_provider,
            symbols=list(acct.symbols),
            max_size_usd=acct.max_position_notional_usd,
            template=row.config.get("template"),
            rules=rules,
            cfg=cfg,
            use_cache=row.use_cache,
            concurrency=row.concurrency,
        )
        return task, pending_items(s, req.task_id, req.from_seq, req.to_seq)

    async def finish(self, req: FinishInput) -> None:
        mode = await read(self.sessions, lambda s: _mode(s, req.task_id))
        simulated = None
        if mode == Mode.SIMULATE:
            simulated = await sim_run.results(self.sessions, self.histories, req.task_id)
        await write(self.sessions, lambda s: _finish(s, req, simulated))


def _first(failed: ExceptionGroup[Exception]) -> Exception:
    """The error the chunk fails with: one that must not be retried (a refused key) when there
    is one, so the activity is not retried in vain."""
    errors = list(failed.exceptions)
    final = [e for e in errors if isinstance(e, LLMError) and not e.retryable]
    return (final or errors)[0]


def _mode(s: Session, task_id: int) -> str | None:
    row = s.get(PromptBacktestTask, task_id)
    return row.mode if row is not None else None


def _finish(s: Session, req: FinishInput, simulated: dict[str, Any] | None) -> None:
    task = set_status(s, req.task_id, req.status, req.error)
    if task is None:
        return
    skip_pending(s, req.task_id)
    if task.mode == Mode.SIMULATE:
        task.result = simulated
    else:
        done = [
            {"change": i.decision["change"], "original_pnl": (i.original or {}).get("pnl")}
            for i in items_of(s, req.task_id)
            if i.status == ItemStatus.DONE and i.decision
        ]
        task.result = {"summary": replay_summary(done)}
