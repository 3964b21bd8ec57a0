"""Technical indicators on price arrays, computed with TA-Lib: the one wrapper of it.

Used by signal evaluation (domain.signals.series), by a program's `data.get_indicator` and
`data.get_regime` in the sandbox (sandbox.market_data), and by the prompt's
{technical_indicators} and {market_regime} (strategies.prompt_context). Every computation checks
its period against the one set of bounds in domain.indicator_periods.

Pure (no I/O, no clock, no randomness) and deliberately small in what it loads: numpy, TA-Lib
and domain.indicator_periods only, because the sandbox imports it before its jail closes (a run
cannot open files; see sandbox.program.preload and warm_up below).

  rsi(close, p)             talib.RSI                                     default 14
  ema / sma(close, p)       talib.EMA / talib.SMA                         default 14
  atr(high, low, close, p)  talib.ATR                                     default 14
  macd(close, p)            talib.MACD(close, fast, p, 9): (macd, signal, histogram); p is the
                            SLOW period, fast = round(p * 12 / 26) (12 for the default 26)
  bbands(close, p)          talib.BBANDS(close, p, 2, 2, SMA): (upper, middle, lower), default 20
Each returns float64 arrays aligned to the input, NaN where not yet defined. `latest` gives the
last value by name ({"macd", "signal", "histogram"} / {"upper", "middle", "lower"} for the
two-line ones); `regime` classifies a market from its candles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import talib

from domain.indicator_periods import (
    DEFAULT_PERIODS,
    MAX_PERIOD,
    check_period,
    macd_periods,
    min_period,
    required_candles,
    resolve_period,
)

__all__ = [
    "DEFAULT_PERIODS",
    "DESCRIPTIONS",
    "MAX_PERIOD",
    "REGIME_MIN_CANDLES",
    "FloatArray",
    "Series",
    "atr",
    "bbands",
    "check_period",
    "ema",
    "latest",
    "macd",
    "macd_periods",
    "min_period",
    "regime",
    "required_candles",
    "resolve_period",
    "rsi",
    "sma",
    "warm_up",
]

FloatArray = npt.NDArray[np.float64]
REGIME_MIN_CANDLES = 50
# What each computation is, in a line, for the program developer guide (api.dev_guide).
DESCRIPTIONS: dict[str, str] = {
    "rsi": "Relative Strength Index (Wilder's smoothing), 0 to 100",
    "ema": "exponential moving average of the closes",
    "sma": "simple moving average of the closes",
    "atr": "Average True Range (Wilder's smoothing), in price units",
    "macd": "MACD(fast, period, 9) with period the slow one and fast = round(period * 12 / 26)",
    "bbands": "Bollinger Bands: SMA(period) and 2 standard deviations (population) either side",
}


def rsi(close: FloatArray, period: int) -> FloatArray:
    return _f64(talib.RSI(close, timeperiod=check_period("rsi", period)))


def ema(close: FloatArray, period: int) -> FloatArray:
    return _f64(talib.EMA(close, timeperiod=check_period("ema", period)))


def sma(close: FloatArray, period: int) -> FloatArray:
    return _f64(talib.SMA(close, timeperiod=check_period("sma", period)))


def atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    return _f64(talib.ATR(high, low, close, timeperiod=check_period("atr", period)))


def macd(close: FloatArray, period: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(macd, signal, histogram) for the slow period `period`."""
    fast, slow, signal = macd_periods(check_period("macd", period))
    line, sig, hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    return _f64(line), _f64(sig), _f64(hist)


def bbands(close: FloatArray, period: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): SMA(period) and 2 standard deviations either side."""
    upper, middle, lower = talib.BBANDS(
        close,
        timeperiod=check_period("bbands", period),
        nbdevup=2.0,
        nbdevdn=2.0,
        matype=talib.MA_Type.SMA,
    )
    return _f64(upper), _f64(middle), _f64(lower)


@dataclass(frozen=True)
class Series:
    """The price columns the indicators read, oldest first."""

    high: FloatArray
    low: FloatArray
    close: FloatArray


def latest(name: str, period: int, series: Series) -> float | dict[str, float]:
    """The latest value of indicator `name`(period). ValueError for an unknown name, a period
    out of bounds, or too few candles for a defined value (check required_candles first for a
    message of your own)."""
    close = series.close
    if name == "rsi":
        return _last(rsi(close, period))
    if name == "ema":
        return _last(ema(close, period))
    if name == "sma":
        return _last(sma(close, period))
    if name == "atr":
        return _last(atr(series.high, series.low, close, period))
    if name == "macd":
        line, sig, hist = macd(close, period)
        return {"macd": _last(line), "signal": _last(sig), "histogram": _last(hist)}
    if name == "bbands":
        upper, middle, lower = bbands(close, period)
        return {"upper": _last(upper), "middle": _last(middle), "lower": _last(lower)}
    raise ValueError(f"unknown indicator {name!r}; available: {', '.join(DEFAULT_PERIODS)}")


def regime(series: Series) -> str:
    """Classify the market from candles (need >= REGIME_MIN_CANDLES). First matching rule wins:

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
    """Run every computation once on synthetic candles, so that whatever numpy or TA-Lib loads
    lazily is loaded before the sandbox's jail closes."""
    close = 100.0 + np.sin(np.arange(120, dtype=np.float64) / 5.0)
    series = Series(high=close + 1.0, low=close - 1.0, close=close)
    for name, period in DEFAULT_PERIODS.items():
        latest(name, period, series)
    regime(series)


def _last(values: npt.NDArray[np.float64]) -> float:
    value = float(values[-1])
    if not np.isfinite(value):
        raise ValueError("indicator is undefined for these candles (not enough history)")
    return value


def _f64(values: npt.NDArray[np.float64]) -> FloatArray:
    return np.asarray(values, dtype=np.float64)
