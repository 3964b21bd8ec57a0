"""Simulate mode's chunks: restore the engine from the task's checkpoint, walk the bars up to
each pending sample (the prompt decider asks the model there), and store the sample's item with
the engine's state after it in one transaction, so a retried chunk resumes after the last
completed sample. The results are the engine's report over what ran."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db.models import Account
from db.prompt_backtests import (
    PromptBacktestItem,
    PromptBacktestTask,
    complete_sample,
    items_of,
    load_checkpoint,
    pending_items,
    progress,
)
from db.session import Sessions
from db.transactions import read, write
from domain.decision import Operation
from domain.prompt_backtest import ChunkInput, ItemStatus, Progress, TaskStatus
from domain.risk import RiskLimits
from strategies.backtest.contract import BacktestConfig
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import MarketHistory, load_history
from strategies.prompt_backtest import TaskProblem
from strategies.prompt_backtest.simulate import PromptDecider, backtest_config
from strategies.prompt_run import call_config, config_problem
from vault import KeyWrapper

NO_DATA = "no stored candles at this bar (allow_gaps): nothing was asked"


def usable_trader(s: Session, account_id: int) -> Account:
    """The task's trader, its model configured; TaskProblem otherwise."""
    acct = s.get(Account, account_id)
    if acct is None:
        raise TaskProblem(f"trader {account_id} not found")
    problem = config_problem(acct)
    if problem:
        raise TaskProblem(f"LLM_NOT_CONFIGURED: {problem}")
    return acct


def trader_limits(acct: Account) -> RiskLimits:
    return RiskLimits(
        max_leverage=acct.max_leverage,
        max_position_notional_usd=acct.max_position_notional_usd,
        max_concurrent_positions=acct.max_concurrent_positions,
    )


@dataclass
class SimTask:
    config: BacktestConfig
    decider: PromptDecider
    items: list[PromptBacktestItem]  # pending, in order
    total: int
    checkpoint: dict[str, Any] | None


def _load(
    s: Session, req: ChunkInput, sessions: Sessions, open_cfg: Callable[..., Any]
) -> SimTask | None:
    row = s.get(PromptBacktestTask, req.task_id)
    if row is None or TaskStatus(row.status).final:
        return None
    acct = usable_trader(s, row.account_id)
    steps = {int((i.original or {})["step"]) for i in items_of(s, req.task_id)}
    decider = PromptDecider(
        sessions=sessions,
        template=row.config["template"],
        cfg=open_cfg(acct, row.temperature),
        provider=acct.llm_provider,
        max_size_usd=acct.max_position_notional_usd,
        use_cache=row.use_cache,
        samples=steps,
    )
    return SimTask(
        config=backtest_config(row.config["backtest"], trader_limits(acct)),
        decider=decider,
        items=pending_items(s, req.task_id, req.from_seq, req.to_seq),
        total=row.sample_count,
        checkpoint=load_checkpoint(s, req.task_id),
    )


async def run_chunk(
    sessions: Sessions,
    vault: KeyWrapper,
    timeout_s: float,
    allow_private_hosts: bool,
    req: ChunkInput,
    on_item: Callable[[int], None],
    histories: Histories,
) -> Progress:
    def open_cfg(acct: Account, temperature: float) -> Any:
        return call_config(acct, vault, timeout_s, allow_private_hosts, temperature)

    task = await read(sessions, lambda s: _load(s, req, sessions, open_cfg))
    if task is None:
        return await read(sessions, lambda s: progress(s, req.task_id))
    engine = await _engine(sessions, histories, req.task_id, task.config, task.checkpoint)
    for item in task.items:
        step = int((item.original or {})["step"])
        task.decider.last = None
        await engine.run(task.decider, until_step=step + 1)
        if item.seq == task.total - 1:
            await engine.run(task.decider)  # to the end: what is still open closes there
        values = task.decider.last or {"status": ItemStatus.FAILED, "error": NO_DATA}
        await write(sessions, _store(req.task_id, item.seq, engine.checkpoint(), values))
        on_item(item.seq)
    out = await read(sessions, lambda s: progress(s, req.task_id))
    if engine.equity:
        out.equity = str(engine.equity[-1][1])
    return out


def _store(
    task_id: int, seq: int, checkpoint: dict[str, Any], values: dict[str, Any]
) -> Callable[[Session], bool]:
    return lambda s: complete_sample(s, task_id, seq, checkpoint, **values)


class Histories:
    """The histories of the last tasks this worker stepped (the engine only reads them): a
    task's chunks follow one another on the same worker, and a year of 1m candles takes seconds
    to load. Per task: a new task reads the candles as stored then."""

    def __init__(self, kept: int = 2) -> None:
        self.kept = kept
        self._items: OrderedDict[str, MarketHistory] = OrderedDict()

    async def get(self, sessions: Sessions, task_id: int, config: BacktestConfig) -> MarketHistory:
        key = f"{task_id}:{json.dumps(config.as_json(), sort_keys=True)}"
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = await load_history(sessions, config)
            while len(self._items) > self.kept:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return found


async def _engine(
    sessions: Sessions,
    histories: Histories,
    task_id: int,
    config: BacktestConfig,
    checkpoint: dict[str, Any] | None,
) -> BacktestEngine:
    history = await histories.get(sessions, task_id, config)
    if checkpoint is None:
        return BacktestEngine(config, history)
    return BacktestEngine.restore(config, history, checkpoint)


async def results(sessions: Sessions, histories: Histories, task_id: int) -> dict[str, Any] | None:
    """The engine's report over the samples that ran (None: none did)."""

    def load(s: Session) -> tuple[BacktestConfig, dict[str, Any] | None, list[int]] | None:
        row = s.get(PromptBacktestTask, task_id)
        acct = s.get(Account, row.account_id) if row is not None else None
        if row is None or acct is None:
            return None
        cfg = backtest_config(row.config["backtest"], trader_limits(acct))
        steps = [int((i.original or {})["step"]) for i in items_of(s, task_id)]
        return cfg, load_checkpoint(s, task_id), steps

    loaded = await read(sessions, load)
    if loaded is None or loaded[1] is None:
        return None
    config, checkpoint, steps = loaded
    engine = await _engine(sessions, histories, task_id, config, checkpoint)
    report = engine.report()
    metrics = dict(report.metrics)
    # The engine counts a decision at every bar; between samples the decider held without
    # asking: those holds are not decisions of the model.
    decisions = dict(metrics.get("decisions") or {})
    asked = sum(1 for k in steps if k < engine.steps_done)
    skipped = max(0, int(decisions.get("total", 0)) - asked)
    if decisions:
        decisions["total"] = int(decisions["total"]) - skipped
        decisions[Operation.HOLD] = max(0, int(decisions.get(Operation.HOLD, 0)) - skipped)
        metrics["decisions"] = decisions
    return {
        "metrics": metrics,
        "trades": report.trades,
        "equity": report.equity,
        "decisions": report.decisions,
        "breakdowns": report.breakdowns,
        "result_hash": report.result_hash,
        "finished": report.finished,
        "steps_done": engine.steps_done,
        "total_steps": engine.total_steps,
    }
