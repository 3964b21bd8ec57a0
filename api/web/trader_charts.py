"""The trader page's chart data, as JSON for its chart modules (web/static/app/trader_chart.js,
equity_chart.js): a symbol's candles from the klines route's own function with the trader's
fills as markers (each naming its decision) and its position's entry and liquidation prices;
and the equity curve from api/equity.py with its drawdown from the running peak. Decimal
strings throughout: the browser turns them into chart coordinates only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.equity import asset_curves
from api.errors import ApiError
from api.money import fmt
from api.routes import klines
from api.trader_state import positions_of
from api.web.login import SignedIn
from api.web.trader_panels import decision_ids, owned
from db.models import TradeRecord
from domain.equity import Timeframe
from domain.equity_metrics import max_drawdown
from domain.market import parse_interval

router = APIRouter(include_in_schema=False)
Interval = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
CANDLES = 300
MAX_MARKERS = 1000
JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers=JSON_HEADERS)


def _ms(at: datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)


async def _markers(
    s: AsyncSession, account_id: int, symbol: str, first_ms: int, last_ms: int, bar_ms: int
) -> list[dict[str, Any]]:
    """The trader's fills in `symbol` from the first candle on, each on the candle it happened
    in (a fill in the bar still open sits on the last closed one)."""
    since = datetime.fromtimestamp(first_ms / 1000, UTC)
    rows = list(
        await s.scalars(
            select(TradeRecord)
            .where(
                TradeRecord.account_id == account_id,
                TradeRecord.symbol == symbol,
                TradeRecord.created_at >= since.replace(tzinfo=None),
            )
            .order_by(TradeRecord.id)
            .limit(MAX_MARKERS)
        )
    )
    decided = await decision_ids(s, [t.client_order_id for t in rows if t.client_order_id])
    out = []
    for t in rows:
        at = _ms(t.created_at)
        bar = min(last_ms, at - at % bar_ms)
        out.append(
            {
                "time": bar // 1000,
                "side": t.side,
                "price": fmt(t.price),
                "size": fmt(t.size),
                "trigger": t.trigger,
                "decision_id": decided.get(t.client_order_id or ""),
            }
        )
    return out


@router.get("/traders/{account_id:int}/chart.json")
async def candle_chart(
    request: Request,
    who: SignedIn,
    account_id: int,
    symbol: str = Query(max_length=32),
    interval: Interval = "5m",
) -> JSONResponse:
    async with request.app.state.sessions() as s:
        acct = await owned(s, who, account_id)
        sym = symbol.strip().upper()
        if sym not in acct.symbols:
            return JSONResponse({"error": f"{sym} is not a symbol of this trader"}, 404,
                                headers=JSON_HEADERS)  # fmt: skip
        try:
            candles = await klines.data(request, sym, interval, None, None, CANDLES)
        except ApiError as err:
            return JSONResponse({"error": err.message, "code": err.code}, err.status,
                                headers=JSON_HEADERS)  # fmt: skip
        lines: list[dict[str, Any]] = []
        try:
            held = await positions_of(request, acct)
            for p in held.positions:
                if p.symbol == sym:
                    lines.append({"kind": "entry", "price": fmt(p.entry_price), "side": p.side})
                    if p.liquidation_price is not None:
                        lines.append({"kind": "liquidation", "price": fmt(p.liquidation_price)})
        except Exception:  # no marks now: the chart shows no lines rather than no chart
            lines = []
        markers: list[dict[str, Any]] = []
        if candles:
            bar_ms = parse_interval(interval).ms
            first, last = candles[0]["timestamp"], candles[-1]["timestamp"]
            markers = await _markers(s, acct.id, sym, first, last, bar_ms)
    return _json({
        "symbol": sym,
        "interval": interval,
        "candles": [{"time": c["timestamp"] // 1000, "open": c["open"], "high": c["high"],
                     "low": c["low"], "close": c["close"]} for c in candles],
        "markers": markers,
        "lines": lines,
    })  # fmt: skip


def drawdowns(equity: list[Decimal]) -> list[str]:
    """Each point's fall from the running peak, in % of that peak (0 at a new high)."""
    out, peak = [], None
    for e in equity:
        peak = e if peak is None or e > peak else peak
        out.append(f"{(peak - e) / peak * 100:.4f}" if peak > 0 else "0")
    return out


@router.get("/traders/{account_id:int}/equity.json")
async def equity_chart(
    request: Request, who: SignedIn, account_id: int, timeframe: Timeframe = Timeframe.H1
) -> JSONResponse:
    async with request.app.state.sessions() as s:
        acct = await owned(s, who, account_id)
        _, (curve,) = await asset_curves(s, request.app.state.exchange, [acct], timeframe)
    values = [p.equity for p in curve.points]
    worst = max_drawdown([(p.time, p.equity) for p in curve.points])
    return _json({
        "timeframe": timeframe.value,
        "current": curve.current,
        "points": [{"time": _ms(p.time) // 1000, "equity": fmt(p.equity), "drawdown_pct": dd}
                   for p, dd in zip(curve.points, drawdowns(values), strict=True)],
        "max_drawdown_pct": None if worst.pct is None else f"{worst.pct:.2f}",
    })  # fmt: skip
