"""Program backtests (README "Backtests"; spec backtesting.md 8.2): start one, follow it,
list them, cancel one, delete one. The results' pages are in backtest_results.py.

POST /api/programs/backtest checks everything it can before starting (the program and trader
are the caller's, the config is sound, the range is not too large, the candles are stored, a
slot is free), then starts ProgramBacktestWorkflow (`backtest-<id>`) on the backtest queue and
waits up to HYPERORU_BACKTEST_SYNC_WAIT_SECONDS for it: 201 with the results when it ended, else 202
with its progress. A backtest is its owner's alone: anyone else gets 404.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentUser
from api.backtest_schemas import BacktestRequest, backtest_out, result_out
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.queries import MAX_ID, get_account, get_owned
from config.settings import Settings
from db.backtest_models import BacktestRecord
from db.backtests import (
    BacktestBusy,
    create_backtest,
    delete_backtest,
    list_backtests,
    load_backtest,
    set_status,
    trades,
)
from db.models import CandleRecord, Program
from domain.backtest import ACTIVE, BacktestInput, BacktestKind, BacktestStatus
from domain.market import parse_interval
from domain.paper import PaperConfig
from domain.risk import RiskLimits
from strategies.backtest.contract import DEFAULT_LIMITS, MAX_STEPS, BacktestConfig, CoverageError
from strategies.backtest.coverage_check import missing_candles
from strategies.backtest.history import first_close, last_close
from strategies.backtest.runner import coverage_message
from strategies.backtest.stored_config import to_stored

log = logging.getLogger("hyperoru.api")
router = APIRouter(prefix="/api/programs", tags=["backtests"], route_class=ExactNumbersRoute)
LIST_LIMIT = 200
# How long POST .../cancel waits for the run to store its partial results.
CANCEL_WAIT_S = 5.0
POLL_S = 0.1


async def owned(request: Request, backtest_id: int, user_id: int) -> BacktestRecord:
    # Why the bound: an id no row can have is not looked up (SQLite refuses the integer).
    in_range = 0 < backtest_id <= MAX_ID
    sessions = request.app.state.sessions
    row = await load_backtest(sessions, backtest_id, user_id) if in_range else None
    if row is None:
        raise ApiError(404, "BACKTEST_NOT_FOUND", f"Backtest {backtest_id} not found")
    return row


def _paper(settings: Settings, body: BacktestRequest) -> PaperConfig:
    """The paper exchange's fees and slippage unless the body names its own (percent)."""
    c, hundred = body.config, Decimal(100)
    return PaperConfig(
        taker_fee_bps=c.taker_fee_pct * hundred
        if c.taker_fee_pct is not None
        else Decimal(settings.paper_taker_fee_bps),
        maker_fee_bps=c.maker_fee_pct * hundred
        if c.maker_fee_pct is not None
        else Decimal(settings.paper_maker_fee_bps),
        slippage_bps=c.slippage_pct * hundred
        if c.slippage_pct is not None
        else Decimal(settings.paper_slippage_bps),
    )


def total_steps(config: BacktestConfig) -> int:
    """Decisions in the run: one per bar close from the first close >= start to the last
    close <= end (the engine's own count)."""
    first, last = first_close(config), last_close(config)
    return max(0, (last - first) // config.interval.ms + 1)


def _ms(v: Any) -> int:
    return int(v.timestamp() * 1000)


async def _run_config(request: Request, body: BacktestRequest, user_id: int) -> BacktestConfig:
    """The run the body asks for, or the 404/422 that says why not."""
    sessions = request.app.state.sessions
    cfg = body.config
    async with sessions() as s:
        await get_owned(s, Program, body.program_id, user_id, "program")
        account = await get_account(s, body.account_id, user_id) if body.account_id else None
    if cfg.symbols is None and account is None:
        raise ApiError(422, "VALIDATION_ERROR", "config.symbols: required without account_id")
    symbols = list(cfg.symbols or (account.symbols if account else []))
    if account is not None and cfg.symbols is not None:
        outside = [sym for sym in symbols if sym not in set(account.symbols)]
        if outside:
            raise ApiError(
                422,
                "VALIDATION_ERROR",
                f"config.symbols: not among trader {account.id}'s symbols: {', '.join(outside)}",
            )
    limits = (
        RiskLimits(
            max_leverage=account.max_leverage,
            max_position_notional_usd=account.max_position_notional_usd,
            max_concurrent_positions=account.max_concurrent_positions,
        )
        if account is not None
        else DEFAULT_LIMITS.model_copy()
    )
    return BacktestConfig(
        symbols=tuple(sorted(symbols)),
        interval=parse_interval(cfg.interval),
        start_ms=_ms(cfg.start_date),
        end_ms=_ms(cfg.end_date),
        initial_balance=cfg.initial_balance,
        paper=_paper(request.app.state.settings, body),
        funding=cfg.funding,
        intrabar=cfg.intrabar,
        seed=cfg.seed,
        limits=limits,
        allow_gaps=cfg.allow_gaps,
    )


async def _check_data(request: Request, config: BacktestConfig) -> None:
    """422 when a symbol has no stored candles at all, or the range is not covered."""
    async with request.app.state.sessions() as s:
        stored = set(
            await s.scalars(
                select(CandleRecord.symbol)
                .where(CandleRecord.symbol.in_(config.symbols))
                .distinct()
            )
        )
    unknown = [sym for sym in config.symbols if sym not in stored]
    if unknown:
        raise ApiError(
            422,
            "SYMBOL_NOT_SUPPORTED",
            f"config.symbols: no stored candles for {', '.join(unknown)} "
            "(import or backfill them first)",
        )
    if config.allow_gaps:
        return  # the run skips bars without data and counts them
    missing = await missing_candles(request.app.state.sessions, config)
    if missing:
        raise ApiError(422, "DATA_COVERAGE", coverage_message(CoverageError(missing)))


def _answer(row: BacktestRecord, results: list[dict[str, Any]]) -> JSONResponse:
    final = BacktestStatus(row.status).final
    return JSONResponse(result_out(row, results if final else []), 201 if final else 202)


@router.post("/backtest", status_code=201)
async def start_backtest(request: Request, body: BacktestRequest, user: CurrentUser) -> Response:
    """Run a program on stored history. 201 {backtest, metrics, trades} when it ends within
    HYPERORU_BACKTEST_SYNC_WAIT_SECONDS, else 202 with its status and progress (follow it with
    GET /api/programs/backtest/{id})."""
    settings: Settings = request.app.state.settings
    sessions = request.app.state.sessions
    config = await _run_config(request, body, user.id)
    steps = total_steps(config)
    if steps == 0:
        raise ApiError(422, "INVALID_RANGE", "config.end_date: the range holds no bar close")
    if steps > MAX_STEPS:
        raise ApiError(
            422,
            "RANGE_TOO_LARGE",
            f"config: {steps} decisions; a backtest makes at most {MAX_STEPS} "
            "(a shorter range or a longer interval)",
        )
    await _check_data(request, config)
    request_json = body.config.model_dump(mode="json")
    request_json["symbols"] = list(config.symbols)
    try:
        row = await create_backtest(
            sessions,
            max_per_user=settings.backtest_max_running_per_user,
            max_total=settings.backtest_max_running,
            owner_id=user.id,
            kind=BacktestKind.PROGRAM.value,
            program_id=body.program_id,
            account_id=body.account_id,
            config=to_stored(config, request_json),
            total_steps=steps,
        )
    except BacktestBusy as err:
        raise ApiError(429, "BACKTEST_BUSY", f"{err}; try again when one has ended") from err
    try:
        # Why a workflow per run, with the run's id in its id: the replay outlives this request
        # and any one worker, and the id can never start a second run of the same backtest.
        handle = await request.app.state.temporal.start_workflow(
            "ProgramBacktestWorkflow",
            BacktestInput(
                backtest_id=row.id, heartbeat_timeout_s=settings.backtest_heartbeat_timeout_seconds
            ),
            id=row.workflow_id,
            task_queue=settings.backtest_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except RPCError as err:
        await set_status(sessions, row.id, BacktestStatus.FAILED, "Temporal is unavailable")
        raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err
    try:
        await asyncio.wait_for(handle.result(), timeout=settings.backtest_sync_wait_seconds)
    except TimeoutError:
        pass  # still running: 202
    except Exception as err:  # the workflow failed: the row says how
        log.info("backtest %s: workflow ended with %s", row.id, type(err).__name__)
    row = await owned(request, row.id, user.id)
    return _answer(row, await trades(sessions, row.id))


@router.get("/backtest/{backtest_id}")
async def get_backtest(request: Request, backtest_id: int, user: CurrentUser) -> Response:
    """A backtest as POST answers it: 200 with its results once ended (metrics and trades
    empty while it runs)."""
    row = await owned(request, backtest_id, user.id)
    final = BacktestStatus(row.status).final
    results = await trades(request.app.state.sessions, row.id) if final else []
    return JSONResponse(result_out(row, results))


@router.get("/backtests")
async def backtests(
    request: Request,
    user: CurrentUser,
    program_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Your backtests, newest first (summaries: no metrics or trades)."""
    rows = await list_backtests(request.app.state.sessions, user.id, program_id, limit, offset)
    return [backtest_out(r) for r in rows]


@router.post("/backtest/{backtest_id}/cancel")
async def cancel_backtest(request: Request, backtest_id: int, user: CurrentUser) -> Response:
    """Stop a run; what it computed so far is kept (status cancelled, partial metrics and
    trades). A run that has ended is answered as it is."""
    sessions = request.app.state.sessions
    row = await owned(request, backtest_id, user.id)
    if not BacktestStatus(row.status).final:
        try:
            # Why Temporal's cancellation: it reaches the replay in flight through its
            # heartbeat; the activity stores the partial results before the workflow ends.
            await request.app.state.temporal.get_workflow_handle(row.workflow_id).cancel()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                log.warning("backtest %s: cancelling its workflow failed: %s", backtest_id, err)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_WAIT_S
        while row.status in ACTIVE and loop.time() < deadline:
            await asyncio.sleep(POLL_S)
            row = await owned(request, backtest_id, user.id)
        if row.status in ACTIVE:
            # No worker answered in time: the run says cancelled now, and a worker that picks
            # it up later stops at its next progress report (keeping what it computed).
            row = await set_status(sessions, backtest_id, BacktestStatus.CANCELLED) or row
    final = BacktestStatus(row.status).final
    return JSONResponse(result_out(row, await trades(sessions, row.id) if final else []))


@router.delete("/backtest/{backtest_id}", status_code=204)
async def remove_backtest(request: Request, backtest_id: int, user: CurrentUser) -> Response:
    """Delete an ended backtest and its results; 409 while it runs (cancel it first)."""
    row = await owned(request, backtest_id, user.id)
    if row.status in ACTIVE:
        raise ApiError(
            409, "BACKTEST_RUNNING", f"Backtest {backtest_id} is {row.status}: cancel it first"
        )
    await delete_backtest(request.app.state.sessions, backtest_id)
    return Response(status_code=204)
