"""A program's `data.get_factor` (sandbox.market_data over domain.factors): each factor on a known
candle series equals its documented formula, computed here independently in plain Python (no
numpy, no TA-Lib); too little history is an error, as get_indicator's; data the snapshot does
not carry is None, never made up."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import pytest

from domain.factors import FACTORS
from sandbox.market_data import MarketData

CANDLES = 100
HOUR = 3_600_000


def _candles(seed: int = 11) -> list[list[float]]:
    rng = random.Random(seed)
    rows, price = [], 100.0
    for i in range(CANDLES):
        close = price * (1 + rng.gauss(0, 0.01))
        high = max(price, close) * (1 + rng.uniform(0, 0.004))
        low = min(price, close) * (1 - rng.uniform(0, 0.004))
        rows.append([1_795_000_000_000 + i * HOUR, price, high, low, close, rng.uniform(5, 50)])
        price = close
    return rows


ROWS = _candles()
OPEN, HIGH, LOW, CLOSE, VOLUME = ([r[i] for r in ROWS] for i in range(1, 6))
FUNDING = [0.0001 * (1 + math.sin(i / 3)) for i in range(40)]
OPEN_INTEREST = [1000.0 + 7 * i + (i % 5) for i in range(40)]


def snapshot(**extra: Any) -> dict[str, Any]:
    return {
        "symbols": ["BTC"],
        "default_interval": "1h",
        "prices": {"BTC": str(CLOSE[-1])},
        "klines": {"BTC": {"1h": ROWS, "1m": ROWS[:10]}},
        **extra,
    }


DATA = MarketData(
    snapshot(funding_history={"BTC": FUNDING}, open_interest_history={"BTC": OPEN_INTEREST})
)


def zscore(values: list[float], period: int) -> float:
    before = values[-1 - period : -1]
    return (values[-1] - statistics.mean(before)) / statistics.stdev(before)


def ema(values: list[float], period: int) -> float:
    """TA-Lib's EMA: seeded with the mean of the first `period` values, k = 2 / (period + 1)."""
    k, value = 2 / (period + 1), statistics.mean(values[:period])
    for x in values[period:]:
        value += k * (x - value)
    return value


def atr(period: int) -> float:
    """Wilder's ATR: the mean of the first `period` true ranges, then smoothed."""
    tr = [
        max(HIGH[i] - LOW[i], abs(HIGH[i] - CLOSE[i - 1]), abs(LOW[i] - CLOSE[i - 1]))
        for i in range(1, CANDLES)
    ]
    value = statistics.mean(tr[:period])
    for x in tr[period:]:
        value = (value * (period - 1) + x) / period
    return value


def volatility(period: int) -> float:
    returns = [math.log(CLOSE[i] / CLOSE[i - 1]) for i in range(CANDLES - period, CANDLES)]
    return statistics.stdev(returns) * math.sqrt(365 * 24)  # 1h bars in a year


def range_position(period: int) -> float:
    low, high = min(LOW[-period:]), max(HIGH[-period:])
    return (CLOSE[-1] - low) / (high - low)


FORMULAS: dict[str, tuple[int, Callable[[int], float]]] = {
    "momentum": (10, lambda p: CLOSE[-1] / CLOSE[-1 - p] - 1),
    "volatility": (20, volatility),
    "volume_zscore": (20, lambda p: zscore(VOLUME, p)),
    "funding_zscore": (30, lambda p: zscore(FUNDING, p)),
    "oi_change": (8, lambda p: OPEN_INTEREST[-1] / OPEN_INTEREST[-1 - p] - 1),
    "ema_distance": (20, lambda p: CLOSE[-1] / ema(CLOSE, p) - 1),
    "atr_pct": (14, lambda p: atr(p) / CLOSE[-1] * 100),
    "price_zscore": (20, lambda p: zscore(CLOSE, p)),
    "range_position": (24, range_position),
}


def test_every_factor_has_a_formula_here() -> None:
    assert set(FORMULAS) == set(FACTORS)


@pytest.mark.parametrize("name", FORMULAS)
def test_a_factor_equals_its_formula(name: str) -> None:
    period, formula = FORMULAS[name]
    assert DATA.get_factor("btc", name, period) == pytest.approx(formula(period), rel=1e-9)


def test_the_default_period_is_the_documented_one() -> None:
    assert DATA.get_factor("BTC", "momentum") == pytest.approx(CLOSE[-1] / CLOSE[-21] - 1)


def test_too_few_candles_is_an_error_naming_what_is_needed() -> None:
    """As get_indicator's: an error, not a None a program could take for "no signal"."""
    expected = r"volatility\(20\) on BTC needs at least 21 1m candles, have 10"
    with pytest.raises(ValueError, match=expected):
        DATA.get_factor("BTC", "volatility", interval="1m")


def test_the_first_defined_value_is_at_exactly_the_needed_candles() -> None:
    short = MarketData(snapshot(klines={"BTC": {"1h": ROWS[:11]}}))
    assert short.get_factor("BTC", "momentum", 10) == pytest.approx(CLOSE[10] / CLOSE[0] - 1)
    with pytest.raises(ValueError, match="needs at least 12 1h candles, have 11"):
        short.get_factor("BTC", "momentum", 11)


def test_too_few_funding_samples_is_an_error_too() -> None:
    expected = r"funding_zscore\(40\) on BTC needs at least 41 funding samples, have 40"
    with pytest.raises(ValueError, match=expected):
        DATA.get_factor("BTC", "funding_zscore", 40)


def test_funding_and_open_interest_factors_are_none_without_their_history() -> None:
    """The snapshot carries the current rate and open interest only: no z-score or change is
    made up from one value."""
    data = MarketData(snapshot(funding={"BTC": "0.0001"}, open_interest={"BTC": "1234"}))
    assert data.get_factor("BTC", "funding_zscore") is None
    assert data.get_factor("BTC", "oi_change") is None


def test_a_flat_window_is_none() -> None:
    flat = [[*row[:5], 10.0] for row in ROWS]
    data = MarketData(snapshot(klines={"BTC": {"1h": flat}}))
    assert data.get_factor("BTC", "volume_zscore") is None


def test_an_unknown_factor_is_an_error_listing_the_valid_ones() -> None:
    with pytest.raises(ValueError) as caught:
        DATA.get_factor("BTC", "sharpe")
    message = str(caught.value)
    assert message.startswith("unknown factor 'sharpe'; available: ")
    assert message.split("available: ")[1].split(", ") == list(FACTORS)


def test_a_period_out_of_bounds_is_worded_as_an_indicators() -> None:
    with pytest.raises(ValueError, match="period for volatility must be between 2 and 500, got 1"):
        DATA.get_factor("BTC", "volatility", 1)
    with pytest.raises(ValueError, match="period must be an integer, got 2.5"):
        DATA.get_factor("BTC", "momentum", 2.5)  # type: ignore[arg-type]
