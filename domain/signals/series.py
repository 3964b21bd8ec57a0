"""A signal indicator's series over candles (pure: no I/O, no clock, no randomness).

The TA-Lib computations are domain.indicators' (the one wrapper, shared with the sandbox and the
prompt context); this module turns candles into its arrays. It loads numpy and TA-Lib, so
domain.signals.evaluate imports it only when it evaluates.

`series(candles, indicator, period, extra)` returns a float64 array aligned to `candles` (oldest
first), NaN where the indicator is not yet defined:

  price             close
  volume            volume
  rsi(p)            indicators.rsi(close, p)                    default 14
  ema(p) / sma(p)   indicators.ema / indicators.sma(close, p)   default 14
  macd(p)           indicators.macd(close, p)[0]                p = SLOW period, default 26;
  macd_signal(p)      ... [1] (the signal line)                  fast = round(p*12/26) (12 for 26)
  macd_hist(p)        ... [2] (macd - signal)
  bb_upper/middle/lower(p)  indicators.bbands(close, p)         default 20 (SMA +/- 2 sd)
  atr(p)            indicators.atr(high, low, close, p)         default 14
  price_change_pct(p)  (close[i] / close[i-p] - 1) * 100        default 1
  funding_rate, open_interest   from `extra` (see extra_series), not from candles

`volume_average(candles, p)`: at candle i, the mean volume of the p candles BEFORE i (i-p..i-1),
so a spike does not inflate its own average.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np

from domain import indicators
from domain.indicators import FloatArray
from domain.market import Candle
from domain.signals.vocabulary import (
    DEFAULT_PERIODS,
    EXTRA_INDICATORS,
    ExtraSeries,
    Indicator,
    check_period,
)

__all__ = ["series", "volume_average", "extra_series", "FloatArray"]


def _column(candles: Sequence[Candle], field: str) -> FloatArray:
    return np.array([float(getattr(c, field)) for c in candles], dtype=np.float64)


def _check_order(candles: Sequence[Candle]) -> None:
    for a, b in zip(candles, candles[1:], strict=False):
        if b.open_time_ms <= a.open_time_ms:
            raise ValueError("candles must be in strictly increasing open_time_ms order")


def _resolve_period(ind: Indicator, period: int | None) -> int:
    if period is None:
        return DEFAULT_PERIODS[ind]
    return check_period(ind, period)


def series(
    candles: Sequence[Candle],
    indicator: str,
    period: int | None = None,
    extra: Mapping[str, ExtraSeries] | None = None,
) -> FloatArray:
    """`indicator` over `candles` (oldest first) as a float64 array aligned to them."""
    try:
        ind = Indicator(indicator)
    except ValueError:
        raise ValueError(f"unknown indicator {indicator!r}") from None
    _check_order(candles)
    n = len(candles)
    if ind in EXTRA_INDICATORS:
        return extra_series(candles, (extra or {}).get(ind.value))
    p = _resolve_period(ind, period) if ind in DEFAULT_PERIODS else 0
    if n == 0:
        return np.empty(0, dtype=np.float64)
    if ind is Indicator.VOLUME:
        return _column(candles, "volume")
    close = _column(candles, "close")
    if ind is Indicator.PRICE:
        return close
    if ind is Indicator.RSI:
        return indicators.rsi(close, p)
    if ind is Indicator.EMA:
        return indicators.ema(close, p)
    if ind is Indicator.SMA:
        return indicators.sma(close, p)
    if ind in (Indicator.MACD, Indicator.MACD_SIGNAL, Indicator.MACD_HIST):
        macd, sig, hist = indicators.macd(close, p)
        pick = {Indicator.MACD: macd, Indicator.MACD_SIGNAL: sig, Indicator.MACD_HIST: hist}
        return pick[ind]
    if ind in (Indicator.BB_UPPER, Indicator.BB_MIDDLE, Indicator.BB_LOWER):
        upper, middle, lower = indicators.bbands(close, p)
        pick = {Indicator.BB_UPPER: upper, Indicator.BB_MIDDLE: middle, Indicator.BB_LOWER: lower}
        return pick[ind]
    if ind is Indicator.ATR:
        high, low = _column(candles, "high"), _column(candles, "low")
        return indicators.atr(high, low, close, p)
    if ind is Indicator.PRICE_CHANGE_PCT:
        out = np.full(n, np.nan, dtype=np.float64)
        if n > p:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[p:] = (close[p:] / close[:-p] - 1.0) * 100.0
            out[~np.isfinite(out)] = np.nan
        return out
    raise AssertionError(f"unhandled indicator {ind}")  # pragma: no cover


def volume_average(candles: Sequence[Candle], period: int) -> FloatArray:
    """Mean volume of the `period` candles before each candle (NaN for the first `period`)."""
    check_period(Indicator.VOLUME, period)
    _check_order(candles)
    n = len(candles)
    out = np.full(n, np.nan, dtype=np.float64)
    if n > period:
        sma = indicators.sma(_column(candles, "volume"), period)
        out[1:] = sma[:-1]
    return out


def extra_series(candles: Sequence[Candle], values: ExtraSeries | None) -> FloatArray:
    """A non-candle series (funding rate, open interest) aligned to `candles`.

    - None: all NaN.
    - a sequence: right-aligned to the candles (its last value is the last candle's); shorter
      sequences leave the oldest candles NaN, longer ones lose their oldest values.
    - a mapping {time_ms: value}: as-of join. Candle i takes the latest sample with
      time_ms < candles[i+1].open_time_ms (the last candle takes the latest sample), i.e. the
      newest sample known by the candle's close; NaN before the first sample.
    None values are NaN.
    """
    n = len(candles)
    out = np.full(n, np.nan, dtype=np.float64)
    if values is None or n == 0:
        return out
    if isinstance(values, Mapping):
        samples = sorted((int(t), _to_float(v)) for t, v in values.items())
        times = [t for t, _ in samples]
        for i in range(n):
            # samples up to the next candle's open, i.e. known by this candle's close
            nxt = candles[i + 1].open_time_ms if i + 1 < n else None
            k = len(times) if nxt is None else bisect.bisect_left(times, nxt)
            if k:
                out[i] = samples[k - 1][1]
        return out
    vals = [_to_float(v) for v in values][-n:] if n else []
    if vals:
        out[n - len(vals) :] = vals
    return out


def _to_float(v: float | Decimal | None) -> float:
    if v is None:
        return math.nan
    f = float(v)
    return f if math.isfinite(f) else math.nan
