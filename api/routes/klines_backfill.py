"""Backfills (README "Market data history"): fetch candles or funding rates for a range from a
venue's public endpoints, as a Temporal workflow; follow, list and cancel one; read funding rates.

The product's paths: POST /api/klines/backfill, GET /api/klines/backfill-tasks,
GET /api/klines/backfill/status/{task_id}; plus POST /api/klines/backfill/{task_id}/cancel and
GET /api/klines/funding. A task is its owner's alone: anyone else gets 404.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from adapters.market.snapshot import now_ms
from api.auth import CurrentUser
from api.errors import ApiError
from api.money import fmt_str
from api.queries import MAX_ID
from db.market_history import BackfillTask, create_task, list_tasks, load_funding, load_task
from db.market_history import set_status as set_task_status
from domain.backfill import BackfillInput, BackfillKind, BackfillStatus
from domain.market import parse_interval
from domain.vocabulary import Exchange, ExchangeEnvironment

log = logging.getLogger("hyperoru.api")
router = APIRouter(prefix="/api/klines", tags=["klines"])
# A task covers at most this many candles (a year of 1m is 525,600) or this long for funding.
MAX_TASK_CANDLES = 1_100_000
MAX_FUNDING_DAYS = 366 * 5
DEFAULT_DAYS = 30
LIST_LIMIT = 200
FUNDING_LIMIT = 10_000


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: Exchange
    symbol: str = Field(min_length=1, max_length=32)
    start: datetime | None = None  # default: end - 30 days
    end: datetime | None = None  # default: now
    environment: ExchangeEnvironment = ExchangeEnvironment.MAINNET
    interval: str | None = None  # candles: 1m 5m 15m 1h 4h 1d (default 1h)
    period: str | None = None  # the product's name for interval
    kind: BackfillKind = BackfillKind.CANDLES
    # The product's klines table names the range start_date/end_date; either pair is taken.
    start_date: datetime | None = None
    end_date: datetime | None = None


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def describe(t: BackfillTask) -> dict[str, Any]:
    """The product's backfill task descriptor, plus what the range and kind were."""
    return {
        "id": t.id,
        "status": t.status,
        "kind": t.kind,
        "exchange": t.exchange,
        "environment": t.environment,
        "symbol": t.symbol,
        "interval": t.interval,
        "period": t.interval,
        "start": _iso(t.start_ms),
        "end": _iso(t.end_ms),
        "progress_pct": t.progress_pct,
        "rows_written": t.rows_written,
        "created_at": t.created_at.isoformat() if t.created_at else None,
        "started_at": t.started_at.isoformat() if t.started_at else None,
        "finished_at": t.finished_at.isoformat() if t.finished_at else None,
        "error": t.error,
    }


def _range(body: BackfillRequest, step_ms: int) -> tuple[int, int]:
    """[start, end) on whole steps, ending no later than now (only closed candles exist)."""
    now = now_ms()
    end_at, start_at = body.end or body.end_date, body.start or body.start_date
    end = min(_ms(end_at), now) if end_at is not None else now
    start = _ms(start_at) if start_at is not None else end - DEFAULT_DAYS * 86_400_000
    start = -(-start // step_ms) * step_ms  # the first whole step at or after start
    end = end // step_ms * step_ms
    if start >= end:
        raise ApiError(422, "INVALID_RANGE", "start must be before end (and before now)")
    return start, end


@router.post("/backfill", status_code=201)
async def start_backfill(
    request: Request, body: BackfillRequest, user: CurrentUser
) -> dict[str, Any]:
    """Start fetching a range from the venue's public endpoints; follow it with
    /backfill/status/{id}. kind `candles` (with interval) or `funding`."""
    symbol = body.symbol.strip().upper()
    interval: str | None = None
    if body.kind == BackfillKind.CANDLES:
        try:
            iv = parse_interval(body.interval or body.period or "1h")
        except ValueError as err:
            raise ApiError(422, "INVALID_INTERVAL", str(err)) from err
        interval = iv.value
        start, end = _range(body, iv.ms)
        if (end - start) // iv.ms > MAX_TASK_CANDLES:
            raise ApiError(
                422, "RANGE_TOO_LARGE", f"A backfill covers at most {MAX_TASK_CANDLES} candles"
            )
    else:
        start, end = _range(body, 1)
        if end - start > MAX_FUNDING_DAYS * 86_400_000:
            raise ApiError(
                422, "RANGE_TOO_LARGE", f"A funding backfill covers at most {MAX_FUNDING_DAYS} days"
            )
    if body.exchange == Exchange.PAPER:
        raise ApiError(422, "VALIDATION_ERROR", "exchange: hyperliquid or binance")
    sessions = request.app.state.sessions
    task = await create_task(
        sessions,
        owner_id=user.id,
        kind=body.kind.value,
        exchange=body.exchange.value,
        environment=body.environment.value,
        symbol=symbol,
        interval=interval,
        start_ms=start,
        end_ms=end,
    )
    settings = request.app.state.settings
    try:
        # Why a workflow per task, with the task's id in its id: the fetch outlives this request
        # and any one worker, and the id can never start a second run of the same task.
        await request.app.state.temporal.start_workflow(
            "BackfillWorkflow",
            BackfillInput(task_id=task.id, cursor_ms=start, end_ms=end),
            id=task.workflow_id,
            task_queue=settings.backfill_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except RPCError as err:
        await set_task_status(sessions, task.id, BackfillStatus.FAILED, "Temporal is unavailable")
        raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err
    started = await set_task_status(sessions, task.id, BackfillStatus.RUNNING)
    return describe(started or task)


@router.get("/backfill-tasks")
async def backfill_tasks(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """The caller's backfill tasks, newest first (at most 200)."""
    return [describe(t) for t in await list_tasks(request.app.state.sessions, user.id, LIST_LIMIT)]


async def _owned(request: Request, task_id: int, user_id: int) -> BackfillTask:
    # Why the bound: an id no row can have is not looked up (SQLite refuses the integer).
    in_range = 0 < task_id <= MAX_ID
    task = await load_task(request.app.state.sessions, task_id, user_id) if in_range else None
    if task is None:
        raise ApiError(404, "BACKFILL_TASK_NOT_FOUND", f"Backfill task {task_id} not found")
    return task


@router.get("/backfill/status/{task_id}")
async def backfill_status(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    return describe(await _owned(request, task_id, user.id))


@router.post("/backfill/{task_id}/cancel")
async def cancel_backfill(request: Request, task_id: int, user: CurrentUser) -> dict[str, Any]:
    """Stop a backfill; what it stored stays. A task that has ended is answered as it is."""
    task = await _owned(request, task_id, user.id)
    if BackfillStatus(task.status).final:
        return describe(task)
    # Recorded first, so the answer (and every later read) says cancelled, and a page that
    # finishes meanwhile stores nothing more (store_*_page checks the status in its transaction).
    task = (
        await set_task_status(request.app.state.sessions, task_id, BackfillStatus.CANCELLED) or task
    )
    try:
        # Why Temporal's cancellation: it reaches a page in flight (through its heartbeat), not
        # only the loop between pages.
        await request.app.state.temporal.get_workflow_handle(task.workflow_id).cancel()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            log.warning("backfill %s: cancelling its workflow failed: %s", task_id, err)
    return describe(task)


@router.get("/funding")
async def funding_rates(
    request: Request,
    symbol: str,
    start: datetime | None = None,
    end: datetime | None = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """Stored settled funding rates of a symbol in [start, end), oldest first (at most 10,000);
    every source unless one is named (`hyperliquid`, `binance`, `<venue>-testnet`)."""
    end_ms = _ms(end) if end is not None else now_ms()
    start_ms = (
        _ms(start) if start is not None else end_ms - int(timedelta(days=30).total_seconds() * 1000)
    )
    if start_ms >= end_ms:
        raise ApiError(422, "INVALID_RANGE", "start must be before end")
    rows = await load_funding(
        request.app.state.sessions, symbol.strip().upper(), start_ms, end_ms, source, FUNDING_LIMIT
    )
    return [
        {
            "source": r.source,
            "symbol": r.symbol,
            "funding_time": r.funding_time_ms,
            "funding_at": _iso(r.funding_time_ms),
            "rate": fmt_str(r.rate),
            "mark_price": fmt_str(r.mark_price) if r.mark_price is not None else None,
        }
        for r in rows
    ]
