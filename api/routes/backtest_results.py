"""A program backtest's results, page by page (README "Backtests"): its trades, its equity
curve (downsampled, keeping each bucket's extremes), its recorded decisions, and breakdowns of
its trades by symbol, exit reason, side or month (domain/metrics.py, the module live
analytics use). Another user's backtest is 404."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from api.auth import CurrentUser
from api.money import fmt_str
from api.routes.backtests import owned
from db.backtests import count_trades, decisions, equity, trades
from domain.metrics import Trip, as_json, breakdown, by_period
from strategies.backtest.report import trip

router = APIRouter(prefix="/api/programs/backtest", tags=["backtests"])
PAGE_LIMIT = 1000


@router.get("/{backtest_id}/trades")
async def backtest_trades(
    request: Request,
    backtest_id: int,
    user: CurrentUser,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> dict[str, Any]:
    """The run's closed trades in the order they closed (the spec's trade objects)."""
    row = await owned(request, backtest_id, user.id)
    sessions = request.app.state.sessions
    return {
        "backtest_id": row.id,
        "total": await count_trades(sessions, row.id),
        "offset": offset,
        "limit": limit,
        "trades": await trades(sessions, row.id, offset, limit),
    }


def downsample(
    points: Sequence[tuple[int, Decimal, Decimal]], max_points: int
) -> list[tuple[int, Decimal, Decimal]]:
    """At most `max_points` of the curve, in time order: the first and last points, and per
    bucket of consecutive points the highest equity, the lowest equity and the lowest
    equity_low, so no peak or trough (and no drawdown) is lost to the thinning."""
    if len(points) <= max_points:
        return list(points)
    inner = points[1:-1]
    buckets = max(1, (max_points - 2) // 3)
    size = -(-len(inner) // buckets)
    keep: set[int] = set()
    for b in range(0, len(inner), size):
        part = range(b, min(b + size, len(inner)))
        keep.add(max(part, key=lambda i: inner[i][1]))
        keep.add(min(part, key=lambda i: inner[i][1]))
        keep.add(min(part, key=lambda i: inner[i][2]))
    return [points[0], *(inner[i] for i in sorted(keep)), points[-1]]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@router.get("/{backtest_id}/equity")
async def backtest_equity(
    request: Request,
    backtest_id: int,
    user: CurrentUser,
    max_points: Annotated[int, Query(ge=10, le=100_000)] = 2000,
) -> dict[str, Any]:
    """The equity at every bar close (and at each bar's adverse extremes, `equity_low`),
    thinned to at most `max_points`."""
    row = await owned(request, backtest_id, user.id)
    curve = await equity(request.app.state.sessions, row.id)
    return {
        "backtest_id": row.id,
        "total_points": len(curve),
        "points": [
            {"at": _iso(at), "at_ms": at, "equity": fmt_str(e), "equity_low": fmt_str(lo)}
            for at, e, lo in downsample(curve, max_points)
        ],
    }


@router.get("/{backtest_id}/decisions")
async def backtest_decisions(
    request: Request,
    backtest_id: int,
    user: CurrentUser,
    filter: Literal["non_hold", "denied", "failed"] | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> dict[str, Any]:
    """The decisions the run recorded (holds are only counted, in metrics.decisions):
    `non_hold` those that traded or tried to, `denied` those the risk gate refused, `failed`
    those the program gave no decision for (with its error code)."""
    row = await owned(request, backtest_id, user.id)
    rows = await decisions(request.app.state.sessions, row.id, filter, offset, limit)
    return {
        "backtest_id": row.id,
        "offset": offset,
        "limit": limit,
        "decisions": [
            {
                "seq": d.seq,
                "at": _iso(d.at_ms),
                "at_ms": d.at_ms,
                "status": d.status,
                "operation": d.operation,
                "symbol": d.symbol,
                "verdict_code": d.verdict_code,
                "error_code": d.error_code,
                "error": d.detail.get("error"),
                "run_ms": d.run_ms,
                "size_usd": d.detail.get("size_usd"),
                "leverage": d.detail.get("leverage"),
                "reasoning": d.reasoning,
            }
            for d in rows
        ],
    }


BREAKDOWN_KEYS: dict[str, Callable[[Trip], Any]] = {
    "symbol": lambda t: t.symbol,
    "exit_reason": lambda t: t.exit_reason,
    "side": lambda t: t.side,
    "month": by_period("month"),
}


@router.get("/{backtest_id}/breakdown")
async def backtest_breakdown(
    request: Request,
    backtest_id: int,
    user: CurrentUser,
    by: Literal["symbol", "exit_reason", "side", "month"] = "symbol",
) -> dict[str, Any]:
    """One metrics line per group of the run's trades (trades, wins/draws/losses, win_rate,
    total_pnl, avg_return_pct, profit_factor, avg_duration_hours)."""
    row = await owned(request, backtest_id, user.id)
    trips = [trip(t) for t in await trades(request.app.state.sessions, row.id)]
    lines = breakdown(trips, BREAKDOWN_KEYS[by])
    return {
        "backtest_id": row.id,
        "by": by,
        "lines": [{"key": key, **as_json(line)} for key, line in lines],
    }
