"""Prompt backtests (README "Prompt backtests"): re-run a prompt on history with the trader's own
model as a Temporal workflow; estimate its cost first, cap it, follow, cancel, retry, delete.

POST /api/prompt-backtest/tasks, GET /api/prompt-backtest/tasks[/{id}[/results]],
POST /api/prompt-backtest/tasks/{id}/cancel, POST .../retry, DELETE .../{id}. A task is its
owner's alone: anyone else gets 404.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.money import fmt, fmt_str
from api.prompt_backtest_plan import TaskRequest, check_budget, plan_replay, refuse_anonymize
from api.prompt_backtest_simulate import plan_simulate
from api.queries import MAX_ID
from db.backtests import BacktestBusy, active_runs
from db.prompt_backtests import (
    PromptBacktestItem,
    PromptBacktestTask,
    items_of,
    reset_failed,
    set_status,
)
from db.transactions import read, write
from domain.prompt_backtest import (
    ItemStatus,
    LookaheadRisk,
    Mode,
    TaskInput,
    TaskStatus,
    replay_summary,
    workflow_id,
)

log = logging.getLogger("hyperoru.api")
router = APIRouter(prefix="/api/prompt-backtest", tags=["prompt-backtest"])
LIST_LIMIT = 200


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def describe(t: PromptBacktestTask) -> dict[str, Any]:
    done = t.completed_count + t.failed_count
    estimate = t.estimate or {}
    return {
        "id": t.id,
        "account_id": t.account_id,
        "prompt_id": t.prompt_id,
        "mode": t.mode,
        "name": (t.config or {}).get("name"),
        "status": t.status,
        "progress": round(100.0 * done / t.sample_count, 2) if t.sample_count else 0.0,
        "sample_count": t.sample_count,
        "completed_count": t.completed_count,
        "failed_count": t.failed_count,
        "cached_count": t.cached_count,
        "spent_cost_usd": fmt_str(t.spent_cost_usd),
        "max_cost_usd": fmt(t.max_cost_usd),
        "temperature": t.temperature,
        "cache": t.use_cache,
        **estimate,
        "created_at": _iso(t.created_at),
        "started_at": _iso(t.started_at),
        "finished_at": _iso(t.finished_at),
        "error": t.error,
    }


def _item(i: PromptBacktestItem) -> dict[str, Any]:
    return {
        "seq": i.seq,
        "ts": i.ts,
        "decision_id": i.source_decision_id,
        "status": i.status,
        "original": i.original,
        "decision": i.decision,
        "usage": i.usage,
        "cost": fmt(i.cost),
        "cached": i.cached,
        "prompt_hash": i.prompt_hash,
        "error": i.error,
    }


async def _owned(request: Request, task_id: int, user_id: int) -> PromptBacktestTask:
    def load(s: Session) -> PromptBacktestTask | None:
        # Why the bound: an id no row can have is not looked up (SQLite refuses the integer).
        task = s.get(PromptBacktestTask, task_id) if 0 < task_id <= MAX_ID else None
        return task if task is not None and task.owner_id == user_id else None

    task = await read(request.app.state.sessions, load)
    if task is None:
        raise ApiError(404, "TASK_NOT_FOUND", f"Prompt backtest task {task_id} not found")
    return task


async def _start(request: Request, task: PromptBacktestTask) -> None:
    settings = request.app.state.settings
    max_cost = None if task.max_cost_usd is None else str(task.max_cost_usd)
    # Why a workflow per task, with the task's id in its id: the run outlives this request and
    # any one worker, and the id never runs the same task twice at once (a retry reuses it
    # only once the previous run has closed).
    await request.app.state.temporal.start_workflow(
        "PromptBacktestWorkflow",
        TaskInput(task_id=task.id, total=task.sample_count, max_cost_usd=max_cost),
        id=workflow_id(task.id),
        task_queue=settings.backtest_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


@router.post("/tasks", status_code=201)
async def create_task(
    request: Request, body: TaskRequest, s: SessionDep, user: CurrentUser
) -> dict[str, Any]:
    """Plan, estimate and start a prompt backtest (201 with the estimate; 422 BUDGET_TOO_LOW
    when the estimate is over max_cost_usd, and nothing is started)."""
    sessions = request.app.state.sessions
    settings = request.app.state.settings
    refuse_anonymize(body)
    if body.mode == Mode.SIMULATE:
        plan = await plan_simulate(s, sessions, body, user.id, settings)
    else:
        plan = await plan_replay(s, sessions, body, user.id)
    check_budget(plan, body.max_cost_usd)

    def store(x: Session) -> PromptBacktestTask:
        task = PromptBacktestTask(
            owner_id=user.id,
            account_id=plan.account.id,
            prompt_id=plan.prompt.id if plan.prompt is not None else None,
            mode=body.mode,
            config=plan.config,
            temperature=body.temperature,
            use_cache=body.cache,
            concurrency=body.concurrency,
            max_cost_usd=body.max_cost_usd,
            status=TaskStatus.PENDING,
            sample_count=len(plan.items),
            spent_cost_usd=Decimal(0),
            estimate=plan.estimate_json(),
        )
        x.add(task)
        x.flush()
        # The same limits as program backtests, over both kinds (they share the worker's slots).
        mine, total = active_runs(x, user.id)
        if mine > settings.backtest_max_running_per_user:
            raise BacktestBusy("per user", settings.backtest_max_running_per_user)
        if total > settings.backtest_max_running:
            raise BacktestBusy("on this instance", settings.backtest_max_running)
        task.workflow_id = workflow_id(task.id)
        for row in plan.items:
            x.add(PromptBacktestItem(task_id=task.id, status=ItemStatus.PENDING, **row))
        return task

    try:
        task = await write(sessions, store)
    except BacktestBusy as err:
        raise ApiError(429, "BACKTEST_BUSY", f"{err}; try again when one has ended") from err
    try:
        await _start(request, task)
    except RPCError as err:
        await write(
            sessions,
            lambda x: set_status(x, task.id, TaskStatus.FAILED, "Temporal is unavailable"),
        )
        raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err
    return describe(task)


@router.get("/tasks")
async def list_tasks(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """The caller's prompt backtests, newest first (at most 200)."""

    def load(s: Session) -> list[PromptBacktestTask]:
        return list(
            s.scalars(
                select(PromptBacktestTask)
                .where(PromptBacktestTask.owner_id == user.id)
                .order_by(PromptBacktestTask.id.desc())
                .limit(LIST_LIMIT)
            )
        )

    return [describe(t) for t in await read(request.app.state.sessions, load)]


@router.get("/tasks/{task_id}")
async def get_task(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    return describe(await _owned(request, task_id, user.id))


@router.get("/tasks/{task_id}/results")
async def task_results(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    """Replay mode: every item and the summary of what changed (over the items done so far).
    Simulate mode: the engine's report (`backtest`, `metrics`, `trades`, ...) once the task has
    ended, and every item."""
    task = await _owned(request, task_id, user.id)
    items = await read(request.app.state.sessions, lambda s: items_of(s, task_id))
    if task.mode == Mode.SIMULATE:
        return simulate_results(task, [_item(i) for i in items])
    done = [
        {"change": i.decision["change"], "original_pnl": (i.original or {}).get("pnl")}
        for i in items
        if i.status == ItemStatus.DONE and i.decision and "change" in i.decision
    ]
    estimate = task.estimate or {}
    return {
        "task": describe(task),
        "lookahead_risk": estimate.get("lookahead_risk", LookaheadRisk.UNKNOWN),
        "cutoff_warning": estimate.get("cutoff_warning"),
        "summary": replay_summary(done),
        "items": [_item(i) for i in items],
    }


def simulate_results(task: PromptBacktestTask, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The program backtest's result shape (spec 8.2) over the samples that ran."""
    result = task.result or {}
    metrics = result.get("metrics") or {}
    estimate = task.estimate or {}
    described = describe(task)
    backtest = {
        "id": task.id,
        "status": task.status,
        "account_id": task.account_id,
        "prompt_id": task.prompt_id,
        "started_at": described["started_at"],
        "finished_at": described["finished_at"],
        "total_pnl": metrics.get("total_pnl"),
        "total_trades": metrics.get("total_trades"),
        "win_rate": metrics.get("win_rate"),
        "progress": described["progress"],
        "result_hash": result.get("result_hash"),
        "error": task.error,
        "config": (task.config or {}).get("backtest"),
        "finished": result.get("finished", False),
    }
    return {
        "task": described,
        "backtest": backtest,
        "metrics": metrics,
        "trades": result.get("trades") or [],
        "equity": result.get("equity") or [],
        "decisions": result.get("decisions") or [],
        "breakdowns": result.get("breakdowns") or {},
        "lookahead_risk": estimate.get("lookahead_risk", LookaheadRisk.UNKNOWN),
        "cutoff_warning": estimate.get("cutoff_warning"),
        "items": items,
    }


def _handle(request: Request, task_id: int) -> WorkflowHandle[Any, Any]:
    return request.app.state.temporal.get_workflow_handle(workflow_id(task_id))


@router.post("/tasks/{task_id}/cancel")
async def cancel_task(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    """Stop a task; the items it completed stay, and its results cover them."""
    task = await _owned(request, task_id, user.id)
    if TaskStatus(task.status).final:
        return describe(task)
    # Recorded first, so the answer (and every later read) says cancelled, and an item that
    # completes meanwhile is not stored (complete_item checks the status in its transaction).
    sessions = request.app.state.sessions
    cancelled = await write(sessions, lambda s: set_status(s, task_id, TaskStatus.CANCELLED))
    task = cancelled or task
    try:
        # Why Temporal's cancellation: it reaches the chunk in flight through its heartbeat,
        # not only the loop between chunks.
        await _handle(request, task_id).cancel()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            log.warning("prompt backtest %s: cancelling its workflow failed: %s", task_id, err)
    return describe(task)


@router.post("/tasks/{task_id}/retry")
async def retry_task(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    """Ask the failed items again (the others keep their answers)."""
    task = await _owned(request, task_id, user.id)
    if not TaskStatus(task.status).final:
        raise ApiError(409, "TASK_RUNNING", f"Prompt backtest task {task_id} is still running")
    if task.mode == Mode.SIMULATE:
        raise ApiError(
            422, "RETRY_NOT_AVAILABLE", "A simulation's samples depend on each other: run it again"
        )
    if task.failed_count == 0:
        raise ApiError(409, "NOTHING_TO_RETRY", f"Prompt backtest task {task_id} has no failures")
    sessions = request.app.state.sessions
    await write(sessions, lambda s: reset_failed(s, task_id))
    task = await _owned(request, task_id, user.id)
    try:
        await _start(request, task)
    except WorkflowAlreadyStartedError as err:
        raise ApiError(409, "TASK_RUNNING", f"Prompt backtest task {task_id} is running") from err
    except RPCError as err:
        await write(
            sessions, lambda s: set_status(s, task_id, TaskStatus.FAILED, "Temporal unavailable")
        )
        raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err
    return describe(task)


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(request: Request, task_id: int, user: CurrentUser) -> Response:
    """Delete a task and its items; a task still running is 409 (cancel it first)."""
    task = await _owned(request, task_id, user.id)
    if not TaskStatus(task.status).final:
        raise ApiError(409, "TASK_RUNNING", f"Prompt backtest task {task_id} is still running")

    def delete(s: Session) -> None:
        s.execute(sql_delete(PromptBacktestItem).where(PromptBacktestItem.task_id == task_id))
        s.execute(sql_delete(PromptBacktestTask).where(PromptBacktestTask.id == task_id))

    await write(request.app.state.sessions, delete)
    return Response(status_code=204)
