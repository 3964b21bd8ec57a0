"""The period bounds every indicator computation shares: signal definitions, a program's
`data.get_indicator` and the prompt's {technical_indicators} all refuse the same periods with the
same message.

Standard library only (no numpy), so that the signal models can validate with it in workflow
code; the computations themselves are in `domain.indicators`.

Names are the TA-Lib computations: rsi, ema, sma, atr, macd, bbands. A period is an integer
within min_period(name)..MAX_PERIOD; macd's period is the SLOW period (see macd_periods).
"""

from __future__ import annotations

MIN_PERIOD = 1
# One upper bound for every caller. 500 is the bound saved signal definitions were validated
# against (a lower one would make them unloadable) and covers the longest periods traders use
# (200-candle averages) with room. A signal evaluation fetches the history its definitions need
# (adapters/market/signal_pools.py); a program's snapshot carries SNAPSHOT_CANDLES per interval
# and a longer period there is refused with the history it would need. A larger bound (the
# sandbox used to allow 1000) bought nothing.
MAX_PERIOD = 500
# TA-Lib refuses RSI and BBANDS below 2. MACD needs a fast period below the slow one, so its
# slow period starts at 3 (MACD(2, 2, 9) is identically 0).
MIN_PERIODS: dict[str, int] = {"rsi": 2, "bbands": 2, "macd": 3}

MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
DEFAULT_PERIODS: dict[str, int] = {
    "rsi": 14,
    "ema": 14,
    "sma": 14,
    "atr": 14,
    "macd": MACD_SLOW,
    "bbands": 20,
}


def min_period(name: str) -> int:
    """The shortest period the computation `name` accepts."""
    return MIN_PERIODS.get(name, MIN_PERIOD)


def check_period(name: str | None, period: object, *, low: int | None = None) -> int:
    """`period` if it is an integer within low..MAX_PERIOD (low: min_period(name) unless given);
    ValueError otherwise, worded the same for every caller ("period for rsi must be between 2
    and 500, got 501"). `name` is how the caller calls the indicator (a signal's "bb_upper", a
    program's "bbands"); None when it is not known (the message then names none)."""
    if isinstance(period, bool) or not isinstance(period, int):
        raise ValueError(f"period must be an integer, got {period!r}")
    if low is None:
        low = MIN_PERIOD if name is None else min_period(name)
    if not low <= period <= MAX_PERIOD:
        subject = "period" if name is None else f"period for {name}"
        raise ValueError(f"{subject} must be between {low} and {MAX_PERIOD}, got {period}")
    return period


def resolve_period(name: str, period: object) -> int:
    """The default period of `name` for None, else `period` checked."""
    if period is None:
        return DEFAULT_PERIODS[name]
    return check_period(name, period)


def macd_periods(slow: int) -> tuple[int, int, int]:
    """(fast, slow, signal) for a MACD whose slow period is `slow`: (12, 26, 9) for 26."""
    fast = max(2, round(slow * MACD_FAST / MACD_SLOW))
    if fast >= slow:
        fast = max(2, slow - 1)
    return fast, slow, MACD_SIGNAL


def required_candles(name: str, period: int) -> int:
    """The fewest candles on which the latest value of `name`(period) is defined."""
    if name in ("rsi", "atr"):
        return period + 1
    if name == "macd":
        _, slow, signal = macd_periods(period)
        return slow + signal - 1
    return period
