"""The snapshot a strategy sees: market data and account state at one moment, as JSON."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from adapters.exchanges.base import AccountView
from adapters.market.feed import MarketFeed
from adapters.market.rows import SHARED as kline_rows
from domain.market import Interval

SNAPSHOT_INTERVALS = (Interval("1m"), Interval("5m"), Interval("15m"), Interval("1h"))
SNAPSHOT_CANDLES = 100
DEFAULT_INTERVAL = Interval("1h")  # a program's data.get_klines(symbol) without an interval


def now_ms() -> int:
    return int(time.time() * 1000)


async def market_snapshot(
    feed: MarketFeed, symbols: list[str], at_ms: int
) -> tuple[dict[str, Decimal], dict[str, dict[str, list[list[float]]]]]:
    prices = dict(
        zip(
            symbols, await asyncio.gather(*(feed.get_price(s, at_ms) for s in symbols)), strict=True
        )
    )
    klines: dict[str, dict[str, list[list[float]]]] = {}
    for sym in symbols:
        klines[sym] = {}
        for iv in SNAPSHOT_INTERVALS:
            candles = await feed.get_klines(sym, iv, SNAPSHOT_CANDLES, at_ms)
            klines[sym][iv.value] = kline_rows.rows(candles)
    return prices, klines


def snapshot_dict(
    symbols: list[str],
    at_ms: int,
    prices: dict[str, Decimal],
    klines: dict[str, Any],
    view: AccountView,
    trigger: dict[str, Any],
) -> dict[str, Any]:
    """The exact input a strategy sees (the contract documented in sandbox/)."""
    return {
        "symbols": symbols,
        "now": datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(),
        "default_interval": DEFAULT_INTERVAL.value,
        "prices": {s: str(p) for s, p in prices.items()},
        "klines": klines,
        "positions": [p.model_dump(mode="json") for p in view.positions],
        "balance": {
            "available": str(view.available_usd),
            "equity": str(view.equity_usd),
            "cash": str(view.cash_usd),
        },
        "trigger": trigger,
    }


def snapshot_json(snap: dict[str, Any]) -> bytes:
    """The snapshot as JSON, encoded once for both its uses (the stored row and the sandbox
    request), the candle rows spliced in already encoded (see KlineRows.json)."""
    klines = {
        s: {iv: kline_rows.json(r) for iv, r in ivs.items()} for s, ivs in snap["klines"].items()
    }
    try:
        return orjson.dumps({**snap, "klines": klines}, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (integers past 64 bits): the stdlib, as json_dumps
        return json.dumps(snap).encode()
