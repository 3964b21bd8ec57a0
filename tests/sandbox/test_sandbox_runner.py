"""Happy paths of the program sandbox: decisions, the data API, values equal to TA-Lib's."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import talib

from sandbox.runner import SandboxLimits, SandboxResult, run_program

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)

RSI_PROGRAM = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        if rsi < 101:
            return Decision(operation="long", symbol="BTC", size_usd=100, leverage=3,
                            take_profit_pct=5, stop_loss_pct=2, reasoning="RSI oversold")
        return Decision(operation="hold", reasoning="nothing to do")
"""


async def test_rsi_program_returns_validated_decision(snapshot: dict[str, Any]) -> None:
    result = await run_program(RSI_PROGRAM, snapshot, LIMITS)
    assert isinstance(result, SandboxResult)
    assert result.ok, result.error
    assert result.error_code is None and result.error is None
    assert result.decision == {
        "operation": "long",
        "symbol": "BTC",
        "size_usd": "100",
        "leverage": "3",
        "take_profit_pct": "5",
        "stop_loss_pct": "2",
        "reasoning": "RSI oversold",
    }
    assert result.duration_ms > 0


async def test_hold_with_float_arithmetic_and_prints(snapshot: dict[str, Any]) -> None:
    code = """
import math, statistics, json
from collections import deque
import numpy as np

class Strategy:
    def __init__(self):
        self.calls = 0

    def should_trade(self, data):
        self.calls += 1
        closes = [k["close"] for k in data.get_klines("ETH", "15m", limit=20)]
        print("mean", round(statistics.mean(closes), 2), "n", len(closes))
        size = data.get_balance() * 0.1 / 3  # not representable in 10 decimal places
        return Decision(operation="short", symbol="eth", size_usd=size, leverage=np.float64(2),
                        reasoning="calls=%d" % self.calls)
"""
    result = await run_program(code, snapshot, LIMITS)
    assert result.ok, result.error
    assert result.decision is not None
    assert result.decision["symbol"] == "ETH"
    assert result.decision["size_usd"] == "316.6666666666"  # rounded down to 10 places
    assert result.decision["leverage"] == "2.0"
    assert result.decision["reasoning"] == "calls=1"
    assert result.logs.startswith("mean ") and "n 20" in result.logs


PROBE_PROGRAM = """
import json

class Strategy:
    def should_trade(self, data):
        out = {
            "symbols": data.symbols,
            "trigger": data.trigger,
            "now": data.now,
            "price": data.get_price("btc"),
            "balance": data.get_balance(),
            "positions": data.get_positions(),
            "klines": data.get_klines("BTC", "5m", limit=3),
            "klines_default": len(data.get_klines("ETH")),
            "rsi": data.get_indicator("BTC", "rsi", 14),
            "ema": data.get_indicator("BTC", "ema", 21, "15m"),
            "sma": data.get_indicator("ETH", "sma", 50),
            "atr": data.get_indicator("BTC", "atr"),
            "macd": data.get_indicator("BTC", "macd"),
            "bbands": data.get_indicator("ETH", "bbands", 20, interval="1m"),
            "regime": data.get_regime("BTC"),
        }
        print(json.dumps(out))
        return Decision(operation="hold")
"""


def _arrays(snapshot: dict[str, Any], symbol: str, interval: str) -> tuple[np.ndarray, ...]:
    rows = np.asarray(snapshot["klines"][symbol][interval], dtype=np.float64)
    return rows[:, 2].copy(), rows[:, 3].copy(), rows[:, 4].copy()


async def test_data_api_matches_talib(snapshot: dict[str, Any]) -> None:
    result = await run_program(PROBE_PROGRAM, snapshot, LIMITS)
    assert result.ok, result.error
    got = json.loads(result.logs)

    assert got["symbols"] == ["BTC", "ETH", "SOL"]
    assert got["trigger"] == snapshot["trigger"]
    assert got["now"] == snapshot["now"]
    assert got["price"] == float(snapshot["prices"]["BTC"])
    assert got["balance"] == 9500.0
    assert got["positions"][0]["symbol"] == "BTC" and got["positions"][0]["size"] == 0.01
    raw = snapshot["klines"]["BTC"]["5m"][-3:]
    assert got["klines"] == [
        {"timestamp": r[0], "open": r[1], "high": r[2], "low": r[3], "close": r[4], "volume": r[5]}
        for r in raw
    ]
    assert got["klines_default"] == 100

    h, lo, c = _arrays(snapshot, "BTC", "1h")
    assert got["rsi"] == pytest.approx(talib.RSI(c, timeperiod=14)[-1], rel=1e-12)
    assert got["atr"] == pytest.approx(talib.ATR(h, lo, c, timeperiod=14)[-1], rel=1e-12)
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    assert got["macd"] == pytest.approx(
        {"macd": macd[-1], "signal": signal[-1], "histogram": hist[-1]}, rel=1e-12
    )
    _, _, c15 = _arrays(snapshot, "BTC", "15m")
    assert got["ema"] == pytest.approx(talib.EMA(c15, timeperiod=21)[-1], rel=1e-12)
    _, _, ce = _arrays(snapshot, "ETH", "1h")
    assert got["sma"] == pytest.approx(talib.SMA(ce, timeperiod=50)[-1], rel=1e-12)
    _, _, ce1 = _arrays(snapshot, "ETH", "1m")
    up, mid, low = talib.BBANDS(ce1, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    assert got["bbands"] == pytest.approx(
        {"upper": up[-1], "middle": mid[-1], "lower": low[-1]}, rel=1e-12
    )
    assert got["regime"] in {"trending", "ranging", "volatile", "calm"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('data.get_indicator("SOL", "rsi", 14)', "needs at least 15 candles, have 10"),
        ('data.get_indicator("BTC", "vwap")', "unknown indicator 'vwap'"),
        ('data.get_price("DOGE")', "no price for 'DOGE'"),
        ('data.get_klines("BTC", "4h")', "no '4h' candles for BTC"),
    ],
)
async def test_data_errors_are_clear_program_errors(
    snapshot: dict[str, Any], call: str, message: str
) -> None:
    code = f"""
class Strategy:
    def should_trade(self, data):
        value = {call}
        return Decision(operation="hold")
"""
    result = await run_program(code, snapshot, LIMITS)
    assert result.error_code == "PROGRAM_ERROR"
    assert message in (result.error or "")
    assert 'File "<program>", line 4, in should_trade' in (result.error or "")


async def test_funding_and_open_interest_from_the_snapshot() -> None:
    from sandbox.runner import run_program

    code = """
class Strategy:
    def should_trade(self, data):
        f, oi = data.get_funding("BTC"), data.get_open_interest("btc")
        none = data.get_funding("ETH")
        return Decision(operation="hold", reasoning=f"{f} {oi} {none}")
"""
    snap = {
        "symbols": ["BTC", "ETH"],
        "prices": {"BTC": "1", "ETH": "1"},
        "funding": {"BTC": "0.0001"},
        "open_interest": {"BTC": "12345.5"},
    }
    result = await run_program(code, snap)
    assert result.ok, result
    assert result.decision["reasoning"] == "0.0001 12345.5 None"
