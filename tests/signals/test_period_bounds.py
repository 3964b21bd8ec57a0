"""One set of indicator period bounds (domain.indicator_periods): a signal definition, a
program's `data.get_indicator` and the prompt context accept and refuse the same periods, in the
same words. They used to disagree: programs allowed up to 1000, signals 500."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from domain.indicator_periods import MAX_PERIOD, min_period
from domain.indicators import Series
from domain.signals import parse_definition
from sandbox.market_data import MarketData
from strategies.prompt_context import indicator_value

MESSAGE = "period for rsi must be between 2 and 500, got 501"
CANDLES = MAX_PERIOD + 100  # enough that only the bound, never the history, refuses a period
# The program's name of each computation -> the signal indicator that uses it.
SIGNAL_INDICATOR = {
    "rsi": "rsi",
    "ema": "ema",
    "sma": "sma",
    "atr": "atr",
    "macd": "macd",
    "bbands": "bb_upper",
}


def _rows() -> list[list[float]]:
    rng = np.random.default_rng(5)
    close = 100 + np.cumsum(rng.normal(0, 1, CANDLES))
    return [
        [1_700_000_000_000 + i * 3_600_000, c, c + 1.5, c - 1.5, c, 10.0]
        for i, c in enumerate(close.tolist())
    ]


ROWS = _rows()


def _series() -> Series:
    arr = np.asarray(ROWS, dtype=np.float64)
    return Series(high=arr[:, 2].copy(), low=arr[:, 3].copy(), close=arr[:, 4].copy())


def _program_data() -> MarketData:
    return MarketData({"symbols": ["BTC"], "klines": {"BTC": {"1h": ROWS}}})


def _definition(indicator: str, period: int) -> dict[str, Any]:
    return {
        "name": "s",
        "indicator": indicator,
        "period": period,
        "operator": "<",
        "threshold": 30,
    }


def test_the_bound_is_500() -> None:
    assert MAX_PERIOD == 500


def test_a_signal_definition_refuses_a_period_over_the_bound() -> None:
    with pytest.raises(ValueError, match=re.escape(MESSAGE)):
        parse_definition(_definition("rsi", 501))


def test_a_programs_get_indicator_refuses_it_the_same_way() -> None:
    with pytest.raises(ValueError, match=re.escape(MESSAGE)):
        _program_data().get_indicator("BTC", "rsi", 501)


def test_the_prompt_context_refuses_it_the_same_way() -> None:
    with pytest.raises(ValueError, match=re.escape(MESSAGE)):
        indicator_value("rsi", 501, _series())


@pytest.mark.parametrize("name", sorted(SIGNAL_INDICATOR))
def test_every_caller_refuses_the_same_periods(name: str) -> None:
    """Just below the shortest period and just above the longest, for every computation."""
    low = min_period(name)
    for period in (low - 1, MAX_PERIOD + 1):
        bounds = re.escape(f"must be between {low} and {MAX_PERIOD}, got {period}")
        with pytest.raises(ValueError, match=bounds):
            parse_definition(_definition(SIGNAL_INDICATOR[name], period))
        with pytest.raises(ValueError, match=bounds):
            _program_data().get_indicator("BTC", name, period)
        with pytest.raises(ValueError, match=bounds):
            indicator_value(name, period, _series())


@pytest.mark.parametrize("name", sorted(SIGNAL_INDICATOR))
def test_every_caller_accepts_the_same_periods(name: str) -> None:
    """The shortest and the longest period: a definition, and a value for programs and prompts
    (the same value, as both compute it with domain.indicators)."""
    for period in (min_period(name), MAX_PERIOD):
        assert parse_definition(_definition(SIGNAL_INDICATOR[name], period)).period == period
        program = _program_data().get_indicator("BTC", name, period)
        assert program == indicator_value(name, period, _series())
