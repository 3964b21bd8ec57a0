"""/api/klines: stored candles, the symbols offered, and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from adapters.market.snapshot import now_ms
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.market import market_feed
from api.money import fmt_str
from db.candles import load_candles, store_candles
from db.coverage import INTERVAL_MS
from db.coverage import coverage as stored_coverage
from domain.market import parse_interval

router = APIRouter(prefix="/api/klines", tags=["klines"], route_class=ExactNumbersRoute)
MAX_CANDLES = 1000
MAX_LISTED_GAPS = 20  # per series; missing_ranges_total counts them all


def _ms(value: datetime | None, default: int) -> int:
    if value is None:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


@router.get("/supported-symbols")
async def supported_symbols(request: Request) -> dict[str, Any]:
    """Symbols the market-data source offers."""
    return {"symbols": request.app.state.feed.symbols(), "source": request.app.state.feed.name}


@router.get("/data")
async def data(
    request: Request,
    symbol: str,
    interval: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CANDLES)] = 200,
) -> list[dict[str, Any]]:
    """Closed candles between start and end (ISO 8601), oldest first; gaps are backfilled."""
    feed = market_feed(request)
    sym = symbol.strip().upper()
    if sym not in feed.symbols():
        raise ApiError(404, "SYMBOL_NOT_FOUND", f"Unknown symbol {sym}")
    try:
        iv = parse_interval(interval)
    except ValueError as err:
        raise ApiError(422, "INVALID_INTERVAL", str(err)) from err
    end_ms = _ms(end, now_ms())
    start_ms = _ms(start, end_ms - limit * iv.ms)
    if start_ms >= end_ms:
        raise ApiError(422, "INVALID_RANGE", "start must be before end")
    count = min(MAX_CANDLES, max(1, (end_ms - start_ms) // iv.ms))
    sessions = request.app.state.sessions
    await store_candles(
        sessions, feed.name, sym, iv, await feed.get_klines(sym, iv, int(count), end_ms)
    )
    candles = await load_candles(sessions, feed.name, sym, iv, end_ms, int(count))
    first = start_ms if start is not None else 0
    return [
        {
            "timestamp": c.open_time_ms,
            "open": _num(c.open),
            "high": _num(c.high),
            "low": _num(c.low),
            "close": _num(c.close),
            "volume": _num(c.volume),
        }
        for c in candles
        if c.open_time_ms >= first
    ]


def _num(d: Decimal) -> str:
    return fmt_str(d)


@router.get("/coverage")
async def coverage(s: SessionDep) -> list[dict[str, Any]]:
    """What is stored per source, symbol and interval, and the gaps in it (README "Market data
    history"): the first 20 missing ranges (oldest first), with how many there are in all."""
    return [
        {
            "source": one.source,
            "symbol": one.symbol,
            "interval": one.interval,
            "earliest": _iso(one.earliest_ms),
            "latest": _iso(one.latest_ms),
            "total_candles": one.total,
            "missing_candles": one.missing,
            "missing_ranges_total": one.gap_count,
            "missing_ranges": [
                {
                    # the first and last missing open times, and how many candles
                    "start": _iso(g.after_ms + INTERVAL_MS[one.interval]),
                    "end": _iso(g.before_ms - INTERVAL_MS[one.interval]),
                    "missing_candles": g.missing(INTERVAL_MS[one.interval]),
                }
                for g in one.gaps
            ],
        }
        for one in await stored_coverage(s, MAX_LISTED_GAPS)
    ]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
