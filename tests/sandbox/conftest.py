"""Shared fixtures for the program sandbox tests: both sandbox modes, a deterministic market
snapshot."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sandbox.runner import MODE_ENV, SANDBOX_MODES

SYMBOLS = {"BTC": 65000.0, "ETH": 3000.0, "SOL": 150.0}
INTERVALS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
CANDLES = 200


@pytest.fixture(autouse=True, params=SANDBOX_MODES)
def sandbox_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every sandbox test runs in fork mode (pre-warmed zygote) and spawn mode (cold start)."""
    monkeypatch.setenv(MODE_ENV, request.param)
    return str(request.param)


def _klines(rng: random.Random, base: float, step_ms: int) -> list[list[float]]:
    rows: list[list[float]] = []
    price = base
    start = 1_795_000_000_000 - CANDLES * step_ms
    for i in range(CANDLES):
        open_ = price
        close = price * (1 + rng.gauss(0.0004, 0.01))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.003)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.003)))
        rows.append([start + i * step_ms, open_, high, low, close, rng.uniform(1, 500)])
        price = close
    return rows


def make_snapshot(seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    klines = {
        sym: {iv: _klines(rng, base, step) for iv, step in INTERVALS.items()}
        for sym, base in SYMBOLS.items()
    }
    klines["SOL"]["1h"] = klines["SOL"]["1h"][:10]  # too short for most indicators
    return {
        "symbols": list(SYMBOLS),
        "now": "2026-11-24T10:00:00Z",
        "default_interval": "1h",
        "prices": {sym: str(round(klines[sym]["1m"][-1][4], 2)) for sym in SYMBOLS},
        "klines": klines,
        "positions": [
            {
                "symbol": "BTC",
                "side": "long",
                "size": "0.01",
                "entry_price": "64000",
                "mark_price": "65000.5",
                "leverage": "3",
                "unrealized_pnl": "10.0",
            }
        ],
        "balance": {"available": "9500.0", "equity": "10010.0", "cash": "10000.0"},
        "trigger": {"type": "signal", "signal": {"name": "rsi_cross", "value": 28.5}},
    }


@pytest.fixture(scope="session")
def snapshot() -> dict[str, Any]:
    return make_snapshot()
