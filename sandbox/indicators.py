"""Child side: technical indicators on candle arrays, computed with TA-Lib.

Periods (`period=None` means the default shown):
  rsi(14), ema(14), sma(14), atr(14)      -> float, the latest value
  macd(26)  -> {"macd", "signal", "histogram"}; `period` is the SLOW period, the fast period is
               round(period * 12 / 26) (so 12 for the default 26) and the signal period is 9.
  bbands(20) -> {"upper", "middle", "lower"}: SMA(period) +/- 2 standard deviations.
Too few candles raises ValueError("... needs at least N candles ...").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import talib

DEFAULT_PERIODS: dict[str, int] = {
    "rsi": 14,
    "ema": 14,
    "sma": 14,
    "atr": 14,
    "macd": 26,
    "bbands": 20,
}
MACD_SIGNAL = 9
MAX_PERIOD = 1000
REGIME_MIN_CANDLES = 50


@dataclass(frozen=True)
class Series:
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray


def resolve_period(name: str, period: object) -> int:
    if period is None:
        return DEFAULT_PERIODS[name]
    if isinstance(period, bool) or not isinstance(period, int):
        raise ValueError(f"period must be an integer, got {period!r}")
    if not 2 <= period <= MAX_PERIOD:
        raise ValueError(f"period must be between 2 and {MAX_PERIOD}, got {period}")
    return period


def macd_periods(slow: int) -> tuple[int, int, int]:
    fast = max(2, round(slow * 12 / 26))
    if fast >= slow:
        fast = slow - 1 if slow > 2 else 2
    return fast, slow, MACD_SIGNAL


def required_candles(name: str, period: int) -> int:
    if name in ("rsi", "atr"):
        return period + 1
    if name == "macd":
        _, slow, signal = macd_periods(period)
        return slow + signal - 1
    return period


def compute(name: str, period: int, series: Series) -> float | dict[str, float]:
    """The latest value of indicator `name`; the caller has checked the candle count."""
    close = series.close
    if name == "rsi":
        return _last(talib.RSI(close, timeperiod=period))
    if name == "ema":
        return _last(talib.EMA(close, timeperiod=period))
    if name == "sma":
        return _last(talib.SMA(close, timeperiod=period))
    if name == "atr":
        return _last(talib.ATR(series.high, series.low, close, timeperiod=period))
    if name == "macd":
        fast, slow, signal = macd_periods(period)
        macd, sig, hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        return {"macd": _last(macd), "signal": _last(sig), "histogram": _last(hist)}
    if name == "bbands":
        upper, middle, lower = talib.BBANDS(
            close, timeperiod=period, nbdevup=2.0, nbdevdn=2.0, matype=talib.MA_Type.SMA
        )
        return {"upper": _last(upper), "middle": _last(middle), "lower": _last(lower)}
    raise ValueError(f"unknown indicator {name!r}; available: {', '.join(DEFAULT_PERIODS)}")


def regime(series: Series) -> str:
    """Classify the market from candles (need >= 50). First matching rule wins:

    - "volatile": NATR(14) (ATR as % of price) >= 1.5 x its median over the window
    - "trending": ADX(14) >= 25
    - "calm":     NATR(14) <= 0.75 x its median over the window
    - "ranging":  everything else (no trend, normal volatility)
    """
    natr = talib.NATR(series.high, series.low, series.close, timeperiod=14)
    adx = _last(talib.ADX(series.high, series.low, series.close, timeperiod=14))
    valid = natr[~np.isnan(natr)]
    current = float(valid[-1])
    typical = float(np.median(valid[-100:]))
    if typical > 0 and current >= 1.5 * typical:
        return "volatile"
    if adx >= 25:
        return "trending"
    if current <= 0.75 * typical:
        return "calm"
    return "ranging"


def warm_up() -> None:
    """Run every indicator once on synthetic candles (so lazy imports happen before the jail)."""
    close = 100.0 + np.sin(np.arange(120, dtype=np.float64) / 5.0)
    series = Series(high=close + 1.0, low=close - 1.0, close=close)
    for name, period in DEFAULT_PERIODS.items():
        compute(name, period, series)
    regime(series)


def _last(values: np.ndarray) -> float:
    value = float(values[-1])
    if not np.isfinite(value):
        raise ValueError("indicator is undefined for these candles (not enough history)")
    return value
