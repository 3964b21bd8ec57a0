"""The words of a signal definition: indicators, operators, pool logic, periods and references.

  indicator  price | volume | rsi | ema | sma | macd | macd_signal | macd_hist | bb_upper |
             bb_middle | bb_lower | atr | funding_rate | open_interest | price_change_pct
  operator   > | < | >= | <= | == | crosses_above | crosses_below
  threshold  a number (a constant line; also allowed with crosses_*)
  reference  price | ema_<n> | sma_<n> | bb_upper | bb_middle | bb_lower  (price-scale indicators:
             price, ema, sma, bb_*), signal_line (macd only), <k>x_avg (volume only: k times the
             mean volume of the `period` candles before the evaluated one). bb_* may carry a period
             suffix (bb_upper_30); without it the period is the definition's own when the
             indicator is price or bb_*, else 20.

Periods (`period` None means the default): rsi 14 (min 2), ema 14, sma 14, atr 14, bb_* 20 (min 2),
macd/macd_signal/macd_hist 26 = the SLOW period (fast round(slow*12/26), signal 9, min 3; so the
default is MACD(12, 26, 9)), volume 20 (the averaging window of <k>x_avg), price_change_pct 1
(percent change over `period` candles). price, funding_rate and open_interest have no period
(price uses it for a bb_* reference). Every period is within the bounds every indicator shares
(domain.indicator_periods: at most 500).

Standard library only: workflow code validates definitions without loading numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain import indicator_periods as periods
from domain.indicator_periods import MIN_PERIOD

MAX_NAME_CHARS = 100
MAX_AVG_MULTIPLIER = 1000

SignalId = int | str
# An extra (non-candle) series: either values aligned to the candles (right-aligned: the last
# value belongs to the last candle) or {time_ms: value} samples, applied as-of (see
# domain.signals.series.extra_series).
ExtraSeries = Sequence[float | Decimal | None] | Mapping[int, float | Decimal | None]


class Indicator(StrEnum):
    PRICE = "price"
    VOLUME = "volume"
    RSI = "rsi"
    EMA = "ema"
    SMA = "sma"
    MACD = "macd"
    MACD_SIGNAL = "macd_signal"
    MACD_HIST = "macd_hist"
    BB_UPPER = "bb_upper"
    BB_MIDDLE = "bb_middle"
    BB_LOWER = "bb_lower"
    ATR = "atr"
    FUNDING_RATE = "funding_rate"
    OPEN_INTEREST = "open_interest"
    PRICE_CHANGE_PCT = "price_change_pct"


class Operator(StrEnum):
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    EQ = "=="
    CROSSES_ABOVE = "crosses_above"
    CROSSES_BELOW = "crosses_below"

    @property
    def is_crossing(self) -> bool:
        return self in (Operator.CROSSES_ABOVE, Operator.CROSSES_BELOW)


class PoolLogic(StrEnum):
    AND = "and"
    OR = "or"


BB_INDICATORS = frozenset({Indicator.BB_UPPER, Indicator.BB_MIDDLE, Indicator.BB_LOWER})
MACD_INDICATORS = frozenset({Indicator.MACD, Indicator.MACD_SIGNAL, Indicator.MACD_HIST})
PRICE_SCALE = frozenset({Indicator.PRICE, Indicator.EMA, Indicator.SMA}) | BB_INDICATORS
EXTRA_INDICATORS = frozenset({Indicator.FUNDING_RATE, Indicator.OPEN_INTEREST})

# The TA-Lib computation (domain.indicators) behind each indicator: its default and its minimum
# period come from there, so signals and programs agree on both.
TALIB_NAMES: dict[Indicator, str] = {
    Indicator.RSI: "rsi",
    Indicator.EMA: "ema",
    Indicator.SMA: "sma",
    Indicator.ATR: "atr",
    **{ind: "bbands" for ind in BB_INDICATORS},
    **{ind: "macd" for ind in MACD_INDICATORS},
}
# Indicators that use `period`, with their default; the others have none. volume's period is
# the window of <k>x_avg (an SMA, so the sma bounds).
DEFAULT_PERIODS: dict[Indicator, int] = {
    **{ind: periods.DEFAULT_PERIODS[name] for ind, name in TALIB_NAMES.items()},
    Indicator.VOLUME: 20,
    Indicator.PRICE_CHANGE_PCT: 1,
}
BB_DEFAULT_PERIOD = periods.DEFAULT_PERIODS["bbands"]
# The indicators whose shortest period is above MIN_PERIOD.
MIN_PERIODS: dict[Indicator, int] = {
    ind: periods.min_period(name)
    for ind, name in TALIB_NAMES.items()
    if periods.min_period(name) > MIN_PERIOD
}


def default_period(indicator: str) -> int | None:
    """The default period of `indicator`, or None if it takes no period."""
    return DEFAULT_PERIODS.get(Indicator(indicator))


def check_period(indicator: str, period: object) -> int:
    """`period` if it is valid for `indicator`; ValueError with the shared message otherwise."""
    ind = Indicator(indicator)
    return periods.check_period(ind.value, period, low=MIN_PERIODS.get(ind, MIN_PERIOD))


def candles_for(kind: str, period: int | None) -> int:
    """The fewest candles on which the latest value of the series `kind`(period) is defined:
    an indicator's, or a reference's ("signal_line" is macd's signal, "volume_avg" the mean of
    the `period` volumes before a candle). None: the indicator's default period."""
    if kind == "volume_avg":
        return (period or DEFAULT_PERIODS[Indicator.VOLUME]) + 1
    ind = Indicator.MACD_SIGNAL if kind == "signal_line" else Indicator(kind)
    if ind not in DEFAULT_PERIODS or ind is Indicator.VOLUME:
        return 1  # price, volume, funding_rate, open_interest: every candle has a value
    p = DEFAULT_PERIODS[ind] if period is None else period
    if ind is Indicator.PRICE_CHANGE_PCT:
        return p + 1
    return periods.required_candles(TALIB_NAMES[ind], p)


def clean_name(v: Any) -> str:
    """A definition's or pool's name, stripped; ValueError if empty or too long."""
    if not isinstance(v, str) or not v.strip():
        raise ValueError("name must be a non-empty string")
    name = str(v).strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name must be at most {MAX_NAME_CHARS} characters")
    return name


# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------

REFERENCE_HELP = (
    "expected one of: price, ema_<n>, sma_<n>, bb_upper, bb_middle, bb_lower (optionally "
    "bb_upper_<n>), signal_line, <k>x_avg (e.g. 2x_avg)"
)
_MA_RE = re.compile(r"^(ema|sma)_(\d+)$")
_BB_RE = re.compile(r"^(bb_upper|bb_middle|bb_lower)(?:_(\d+))?$")
_XAVG_RE = re.compile(r"^(\d+(?:\.\d+)?)x_avg$")


@dataclass(frozen=True, slots=True)
class ReferenceSpec:
    """A parsed reference. kind is an Indicator value, "signal_line" or "volume_avg"; period None
    means "resolved from the definition" (bb_* without suffix); multiplier only for volume_avg."""

    kind: str
    period: int | None = None
    multiplier: float | None = None


def parse_reference(text: str) -> ReferenceSpec:
    """Parse a reference string ("ema_50", "2x_avg", ...); ValueError for anything else."""
    ref = text.strip().lower()
    if ref == "price":
        return ReferenceSpec(Indicator.PRICE.value)
    if ref == "signal_line":
        return ReferenceSpec("signal_line")
    m = _MA_RE.match(ref)
    if m:
        return ReferenceSpec(m.group(1), check_period(m.group(1), int(m.group(2))))
    m = _BB_RE.match(ref)
    if m:
        period = check_period(m.group(1), int(m.group(2))) if m.group(2) else None
        return ReferenceSpec(m.group(1), period)
    m = _XAVG_RE.match(ref)
    if m:
        k = float(m.group(1))
        if not 0 < k <= MAX_AVG_MULTIPLIER:
            raise ValueError(
                f"the multiplier of {text!r} must be above 0 and at most {MAX_AVG_MULTIPLIER}"
            )
        return ReferenceSpec("volume_avg", None, k)
    raise ValueError(f"unknown reference {text!r}; {REFERENCE_HELP}")


def is_xavg(value: object) -> bool:
    """Whether `value` is a <k>x_avg reference (which the docs also put in `threshold`)."""
    return isinstance(value, str) and bool(_XAVG_RE.match(value.strip().lower()))
