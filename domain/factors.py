"""Factors: the standard quantitative features of a market (momentum, volatility, z-scores, ...)
computed from its candles and, where given, its funding-rate and open-interest history.

Used by a program's `data.get_factor` (sandbox.market_data) and listed, from FACTORS below, by the
program developer guide (api.dev_guide). Built on domain.indicators (EMA and ATR are its TA-Lib
computations) and pure like it: numpy and domain.indicators only, because the sandbox imports it
before its jail closes (see warm_up).

Every factor follows CONVENTIONS below (the developer guide prints them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from domain.indicator_periods import MAX_PERIOD, check_period
from domain.indicators import FloatArray, atr, ema

__all__ = [
    "CONVENTIONS",
    "FACTORS",
    "HISTORY_SAMPLES",
    "YEAR_SECONDS",
    "FactorInputs",
    "FactorSpec",
    "compute",
    "resolve_period",
    "spec_of",
    "warm_up",
]

# Crypto trades every day of the year: a year of 1h bars is 8760 of them.
YEAR_SECONDS = 365 * 24 * 3600

CONVENTIONS = f"""\
- `period` is one integer, a count of bars (candles; samples for the funding and open-interest
  factors), within the factor's minimum and {MAX_PERIOD}, with a default per factor.
- Returns and distances are fractions (0.05 is +5 %); atr_pct alone is in percent.
- A z-score is (x[-1] - mean) / stdev over the `period` values before the latest one, so that
  a spike does not dampen its own score. Every standard deviation is the sample one (n - 1).
- Too little history raises ValueError saying how much is needed, as get_indicator does.
- None: the history a factor reads is not in the snapshot (funding, open interest: none is
  stored yet, see their notes), or the value is undefined (a flat window: zero deviation or
  range; a zero base).
"""


@dataclass(frozen=True)
class FactorSpec:
    """One factor as the developer guide documents it."""

    name: str
    definition: str  # the formula, in the terms of the module docstring
    unit: str
    default_period: int
    min_period: int
    source: str  # "candles", "funding" or "open_interest": the history it reads
    extra: int = 1  # values needed beyond `period` (one more for returns and z-scores)
    note: str = ""

    @property
    def history(self) -> str:
        """What the factor counts its history in: "candles", "funding samples", ..."""
        if self.source == "candles":
            return "candles"
        return f"{self.source.replace('_', '-')} samples"

    def required(self, period: int) -> int:
        """The fewest values (candles or samples) on which the factor is defined."""
        return period + self.extra


@dataclass(frozen=True)
class FactorInputs:
    """The history a factor reads, oldest first. funding and open_interest are None where
    the venue or the snapshot does not carry them."""

    close: FloatArray
    high: FloatArray
    low: FloatArray
    volume: FloatArray
    bar_seconds: int
    funding: FloatArray | None = None
    open_interest: FloatArray | None = None


# The most samples a snapshot carries per symbol and history (db/factor_history.py): the
# funding factor's default period many times over; a longer period raises "needs at least".
HISTORY_SAMPLES = 200
_FUNDING_NOTE = (
    f"The rates settled on or before the decision time (the last {HISTORY_SAMPLES}), as stored "
    "for the trader's market data: its venue and environment when live, the venue of "
    "HYPERORU_MARKET_SOURCE on paper. They are stored by the market-history refresh (hourly: "
    "the last day) and by funding backfills. None where none is stored yet, and on the "
    "simulated feed."
)
_OI_NOTE = (
    "The open interest the trader's earlier decisions saw on its venue (at most one sample a "
    f"minute, kept 7 days by default; the last {HISTORY_SAMPLES}), this decision's last. Live "
    "venues only: None on paper, and until an earlier decision has recorded a sample."
)

FACTORS: dict[str, FactorSpec] = {
    spec.name: spec
    for spec in (
        FactorSpec(
            "momentum",
            "close[-1] / close[-1 - period] - 1 (the period-bar return)",
            "fraction",
            20,
            1,
            "candles",
        ),
        FactorSpec(
            "volatility",
            "stdev(ln(close[i] / close[i - 1]) over the last `period` returns) "
            "* sqrt(bars per year), a year being 365 days of 24 h (8760 1h bars)",
            "fraction per year",
            20,
            2,
            "candles",
        ),
        FactorSpec(
            "volume_zscore",
            "z-score of volume[-1] against the `period` candles before it",
            "standard deviations",
            20,
            2,
            "candles",
        ),
        FactorSpec(
            "funding_zscore",
            "z-score of the latest funding rate against the `period` samples before it",
            "standard deviations",
            30,
            2,
            "funding",
            note=_FUNDING_NOTE,
        ),
        FactorSpec(
            "oi_change",
            "open_interest[-1] / open_interest[-1 - period] - 1",
            "fraction",
            1,
            1,
            "open_interest",
            note=_OI_NOTE,
        ),
        FactorSpec(
            "ema_distance",
            "close[-1] / EMA(close, period)[-1] - 1 (EMA as get_indicator's)",
            "fraction",
            20,
            1,
            "candles",
            extra=0,
        ),
        FactorSpec(
            "atr_pct",
            "ATR(period)[-1] / close[-1] * 100 (ATR as get_indicator's)",
            "percent",
            14,
            1,
            "candles",
        ),
        FactorSpec(
            "price_zscore",
            "z-score of close[-1] against the `period` closes before it",
            "standard deviations",
            20,
            2,
            "candles",
        ),
        FactorSpec(
            "range_position",
            "(close[-1] - min(low)) / (max(high) - min(low)) over the last `period` candles, "
            "the latest included: 0 at the period's low, 1 at its high",
            "fraction (0 to 1)",
            20,
            1,
            "candles",
            extra=0,
        ),
    )
}


def resolve_period(name: str, period: object) -> int:
    """The factor's default period for None, else `period` within its bounds (ValueError
    worded as an indicator's: "period for momentum must be between 1 and 500, got 0")."""
    spec = spec_of(name)
    if period is None:
        return spec.default_period
    return check_period(name, period, low=spec.min_period)


def spec_of(name: str) -> FactorSpec:
    """The factor `name`; ValueError listing the valid names for any other."""
    spec = FACTORS.get(name)
    if spec is None:
        raise ValueError(f"unknown factor {name!r}; available: {', '.join(FACTORS)}")
    return spec


def compute(name: str, period: int | None, inputs: FactorInputs) -> float | None:
    """The latest value of factor `name`(period) on `inputs` (see the module docstring for
    when it is None and when a ValueError)."""
    spec = spec_of(name)
    p = resolve_period(name, period)
    values = _source(spec, inputs)
    if values is None:
        return None
    need = spec.required(p)
    if len(values) < need:
        raise ValueError(f"{name}({p}) needs at least {need} {spec.history}, have {len(values)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = _value(name, p, inputs, values)
    return value if math.isfinite(value) else None


def _source(spec: FactorSpec, inputs: FactorInputs) -> FloatArray | None:
    if spec.source == "funding":
        return inputs.funding
    if spec.source == "open_interest":
        return inputs.open_interest
    return inputs.close


def _value(name: str, p: int, inputs: FactorInputs, values: FloatArray) -> float:
    close = inputs.close
    if name in ("momentum", "oi_change"):
        return float(values[-1] / values[-1 - p] - 1.0)
    if name == "volatility":
        returns = np.diff(np.log(close[-1 - p :]))
        return float(np.std(returns, ddof=1) * math.sqrt(YEAR_SECONDS / inputs.bar_seconds))
    if name in ("volume_zscore", "funding_zscore", "price_zscore"):
        series = inputs.volume if name == "volume_zscore" else values
        return _zscore(series[-1 - p :])
    if name == "ema_distance":
        return float(close[-1] / ema(close, p)[-1] - 1.0)
    if name == "atr_pct":
        return float(atr(inputs.high, inputs.low, close, p)[-1] / close[-1] * 100.0)
    if name == "range_position":
        low, high = float(np.min(inputs.low[-p:])), float(np.max(inputs.high[-p:]))
        return (float(close[-1]) - low) / (high - low) if high > low else math.nan
    raise AssertionError(f"unhandled factor {name}")  # pragma: no cover


def _zscore(window: FloatArray) -> float:
    """z-score of the last value against the ones before it (NaN for a flat window)."""
    before = window[:-1]
    sd = float(np.std(before, ddof=1))
    return (float(window[-1]) - float(np.mean(before))) / sd if sd > 0 else math.nan


def warm_up() -> None:
    """Compute every factor once, so that whatever numpy loads lazily is loaded before the
    sandbox's jail closes."""
    close = 100.0 + np.sin(np.arange(120, dtype=np.float64) / 5.0)
    inputs = FactorInputs(close, close + 1.0, close - 1.0, close * 3.0, 3600, close, close)
    for name in FACTORS:
        compute(name, None, inputs)
