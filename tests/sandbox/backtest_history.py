"""A synthetic candle history for backtest session tests, and the full snapshot of a step built
from it with the window rule written out here (close time <= t and > t - 100 x interval), so
that the session's slices are checked against an independent reading of the rule."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sandbox.backtest_candles import Candles

INTERVAL_MS = {"1m": 60_000, "15m": 900_000, "1h": 3_600_000}
HOUR = 3_600_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the first candle opens here
WARMUP_HOURS = 100  # 100 closed 1h candles before the first step


def history(hours: int, symbols: tuple[str, ...] = ("BTC", "ETH"), seed: int = 3) -> Candles:
    """(symbol, interval) -> (close times, rows) over `hours` hours; the 1h and 15m candles are
    built from the 1m ones (so they agree, as stored candles do)."""
    rng = random.Random(seed)
    candles: dict[tuple[str, str], tuple[list[int], list[list[float]]]] = {}
    for n, symbol in enumerate(symbols):
        price = 100.0 * (n + 1)
        minutes: list[list[float]] = []
        for i in range(hours * 60):
            close = price * (1 + rng.gauss(0, 0.002))
            high, low = max(price, close) * 1.0005, min(price, close) * 0.9995
            minutes.append([START_MS + i * 60_000, price, high, low, close, rng.uniform(1, 9)])
            price = close
        for interval, step in INTERVAL_MS.items():
            per = step // 60_000
            rows = [_merge(minutes[i : i + per]) for i in range(0, len(minutes), per)]
            candles[(symbol, interval)] = ([int(r[0]) + step for r in rows], rows)
    return candles


def _merge(group: list[list[float]]) -> list[float]:
    return [group[0][0], group[0][1], max(r[2] for r in group), min(r[3] for r in group),
            group[-1][4], sum(r[5] for r in group)]  # fmt: skip


def step_time(step: int) -> int:
    return START_MS + (WARMUP_HOURS + step) * HOUR


def account(
    candles: Candles, step: int, symbols: tuple[str, ...] = ("BTC", "ETH")
) -> dict[str, Any]:
    """The account part of a step's snapshot; changes from step to step."""
    at = step_time(step)
    prices = {s: str(candles[(s, "1m")][1][_last(candles[(s, "1m")][0], at)][4]) for s in symbols}
    positions = []
    if step % 3 == 1:
        positions.append({"symbol": "BTC", "side": "long" if step % 2 else "short",
                          "size": "0.5", "entry_price": prices["BTC"], "mark_price": prices["BTC"],
                          "leverage": "3", "unrealized_pnl": str(step / 10)})  # fmt: skip
    return {
        "symbols": list(symbols),
        "now": datetime.fromtimestamp(at / 1000, UTC).isoformat(),
        "default_interval": "1h",
        "prices": prices,
        "positions": positions,
        "balance": {"available": str(10_000 - step), "equity": str(10_000 + step), "cash": "10000"},
        "trigger": {"type": "schedule", "step": step},
    }


def _last(close_times: Any, at: int) -> int:
    return max(i for i, t in enumerate(close_times) if t <= at)


def full_snapshot(candles: Candles, step: int, acct: dict[str, Any]) -> dict[str, Any]:
    at = step_time(step)
    klines: dict[str, dict[str, list[list[float]]]] = {}
    for (symbol, interval), (close_times, rows) in candles.items():
        low = at - 100 * INTERVAL_MS[interval]
        klines.setdefault(symbol, {})[interval] = [
            list(row) for t, row in zip(close_times, rows, strict=True) if low < t <= at
        ]
    return {**acct, "klines": klines}
