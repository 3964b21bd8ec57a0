"""Indicator series equal TA-Lib called directly, plus independent checks where it is not used."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import talib

from domain.signals import Indicator, macd_periods
from domain.signals import series as ind
from tests.signals._support import T0, make_candles

ROOT = Path(__file__).resolve().parents[2]
N = 300


@pytest.fixture(scope="module")
def data() -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12345)
    close = np.round(100 + np.cumsum(rng.normal(0, 1.0, N)), 4)
    high = np.round(close + rng.uniform(0.1, 2.0, N), 4)
    low = np.round(close - rng.uniform(0.1, 2.0, N), 4)
    volume = np.round(rng.uniform(10, 1000, N), 3)
    candles = make_candles(
        [str(c) for c in close],
        [str(v) for v in volume],
        highs=[str(h) for h in high],
        lows=[str(x) for x in low],
    )
    return candles, close, high, low, volume


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == np.float64
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=1e-9, atol=0)


@pytest.mark.parametrize("period", [None, 2, 14, 50])
def test_rsi_ema_sma(data, period) -> None:
    candles, close, *_ = data
    p = period or 14
    assert_same(ind.series(candles, "rsi", period), talib.RSI(close, timeperiod=p))
    assert_same(ind.series(candles, "ema", period), talib.EMA(close, timeperiod=p))
    assert_same(ind.series(candles, "sma", period), talib.SMA(close, timeperiod=p))


@pytest.mark.parametrize("period", [None, 14, 40])
def test_macd_family(data, period) -> None:
    candles, close, *_ = data
    fast, slow, signal = macd_periods(period or 26)
    macd, sig, hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    assert_same(ind.series(candles, "macd", period), macd)
    assert_same(ind.series(candles, "macd_signal", period), sig)
    assert_same(ind.series(candles, "macd_hist", period), hist)


def test_macd_default_is_12_26_9(data) -> None:
    candles, close, *_ = data
    assert macd_periods(26) == (12, 26, 9)
    macd, sig, _ = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    assert_same(ind.series(candles, Indicator.MACD), macd)
    assert_same(ind.series(candles, Indicator.MACD_SIGNAL), sig)


@pytest.mark.parametrize("period", [None, 10, 30])
def test_bbands(data, period) -> None:
    candles, close, *_ = data
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=period or 20, nbdevup=2.0, nbdevdn=2.0, matype=talib.MA_Type.SMA
    )
    assert_same(ind.series(candles, "bb_upper", period), upper)
    assert_same(ind.series(candles, "bb_middle", period), middle)
    assert_same(ind.series(candles, "bb_lower", period), lower)


@pytest.mark.parametrize("period", [None, 1, 7])
def test_atr(data, period) -> None:
    candles, close, high, low, _ = data
    assert_same(
        ind.series(candles, "atr", period), talib.ATR(high, low, close, timeperiod=period or 14)
    )


def test_price_and_volume(data) -> None:
    candles, close, _, _, volume = data
    assert_same(ind.series(candles, "price"), close)
    assert_same(ind.series(candles, "volume"), volume)


@pytest.mark.parametrize("period", [None, 1, 5, 24])
def test_price_change_pct_independent(data, period) -> None:
    candles, *_ = data
    p = period or 1
    closes = [float(c.close) for c in candles]
    expected = np.array(
        [
            float("nan") if i < p else (closes[i] - closes[i - p]) / closes[i - p] * 100
            for i in range(N)
        ]
    )
    assert_same(ind.series(candles, "price_change_pct", period), expected)
    # and TA-Lib's ROC agrees
    assert_same(ind.series(candles, "price_change_pct", period), talib.ROC(np.array(closes), p))


@pytest.mark.parametrize("period", [1, 3, 20])
def test_volume_average_independent(data, period) -> None:
    candles, *_ = data
    vols = [float(c.volume) for c in candles]
    expected = np.array(
        [float("nan") if i < period else sum(vols[i - period : i]) / period for i in range(N)]
    )
    assert_same(ind.volume_average(candles, period), expected)


def test_short_history_is_nan_not_error() -> None:
    candles = make_candles([1, 2, 3])
    for name in Indicator:
        out = ind.series(candles, name)
        assert out.shape == (3,)
    assert np.isnan(ind.series(candles, "rsi")).all()
    assert np.isnan(ind.series(candles, "macd")).all()
    assert ind.series([], "rsi").shape == (0,)
    assert ind.series([], "funding_rate").shape == (0,)
    assert np.isnan(ind.volume_average(candles, 5)).all()


def test_extra_series_sequence_right_aligned() -> None:
    candles = make_candles([1, 2, 3, 4])
    out = ind.series(candles, "funding_rate", extra={"funding_rate": [0.1, None]})
    np.testing.assert_array_equal(out, [np.nan, np.nan, 0.1, np.nan])
    out = ind.series(candles, "open_interest", extra={"open_interest": [9, 8, 7, 6, Decimal(5)]})
    np.testing.assert_array_equal(out, [8, 7, 6, 5])
    assert np.isnan(ind.series(candles, "funding_rate")).all()
    assert np.isnan(ind.series(candles, "funding_rate", extra={"open_interest": [1]})).all()


def test_extra_series_mapping_as_of() -> None:
    hour = 3_600_000
    candles = make_candles([1, 2, 3, 4])
    samples = {T0 + hour + 1800_000: 0.5, T0 - 10: 0.1, T0 + 3 * hour + 5: 0.9}
    out = ind.series(candles, "funding_rate", extra={"funding_rate": samples})
    # candle 0 [T0, T0+1h): latest sample before T0+1h is the T0-10 one; candle 1 gets the
    # mid-candle sample; candle 2 forward-fills it; the last candle takes the latest sample.
    np.testing.assert_array_equal(out, [0.1, 0.5, 0.5, 0.9])
    out = ind.series(candles, "funding_rate", extra={"funding_rate": {T0 + 2 * hour: 1.0}})
    np.testing.assert_array_equal(out, [np.nan, np.nan, 1.0, 1.0])


def test_rejects_unordered_candles_and_bad_input() -> None:
    candles = make_candles([1, 2, 3])
    with pytest.raises(ValueError, match="strictly increasing"):
        ind.series(list(reversed(candles)), "price")
    with pytest.raises(ValueError, match="unknown indicator"):
        ind.series(candles, "vwap")
    with pytest.raises(ValueError, match="between 2 and 500"):
        ind.series(candles, "rsi", 1)
    with pytest.raises(ValueError, match="between 1 and 500"):
        ind.volume_average(candles, 0)


def test_signals_module_does_not_load_numpy() -> None:
    code = (
        "import sys, domain.signals as s\n"
        "s.parse_definition({'name': 'r', 'indicator': 'rsi', 'operator': '<', 'threshold': 30})\n"
        "s.step(s.EdgeState(), True, 1, 1, 0)\n"
        "assert 'numpy' not in sys.modules and 'talib' not in sys.modules, 'numpy loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
