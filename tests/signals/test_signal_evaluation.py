"""Evaluating definitions and pools on crafted candle series."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import talib

from domain.market import Interval
from domain.signals import (
    SignalDefinition,
    SignalPool,
    evaluate_definition,
    evaluate_pool,
    parse_definition,
)
from tests.signals._support import T0, make_candles

HOUR = 3_600_000


def defn(**kw: Any) -> SignalDefinition:
    body: dict[str, Any] = {"name": "s"}
    body.update(kw)
    return parse_definition(body)


# ------------------------------------------------------------------ threshold form

TINY_ABOVE = "100.00000000001"  # within the 1e-9 relative tolerance of 100
TINY_BELOW = "99.99999999999"


@pytest.mark.parametrize(
    ("op", "closes", "expected"),
    [
        (">", [100, 101], True),
        (">", [100, 100], False),
        (">", [100, 99], False),
        (">", [100, TINY_ABOVE], False),
        ("<", [100, 99], True),
        ("<", [100, 100], False),
        ("<", [100, 101], False),
        ("<", [100, TINY_BELOW], False),
        (">=", [100, 100], True),
        (">=", [100, 101], True),
        (">=", [100, 99], False),
        (">=", [100, TINY_BELOW], True),
        ("<=", [100, 100], True),
        ("<=", [100, 99], True),
        ("<=", [100, 101], False),
        ("<=", [100, TINY_ABOVE], True),
        ("==", [100, 100], True),
        ("==", [100, TINY_ABOVE], True),
        ("==", [100, TINY_BELOW], True),
        ("==", [100, "100.001"], False),
        ("==", [100, 99], False),
        # crosses_above: prev <= 100 and now > 100
        ("crosses_above", [99, 101], True),
        ("crosses_above", [100, 101], True),  # exact touch on the previous candle
        ("crosses_above", [99, 100], False),  # touching is not crossing
        ("crosses_above", [101, 102], False),  # already above
        ("crosses_above", [99, 99], False),
        ("crosses_above", [101, 99], False),
        ("crosses_above", [101], False),  # one candle: no previous value
        # crosses_below: prev >= 100 and now < 100
        ("crosses_below", [101, 99], True),
        ("crosses_below", [100, 99], True),
        ("crosses_below", [101, 100], False),
        ("crosses_below", [99, 98], False),
        ("crosses_below", [101, 101], False),
        ("crosses_below", [99, 101], False),
        ("crosses_below", [99], False),
    ],
)
def test_every_operator_threshold_form(op: str, closes: list, expected: bool) -> None:
    d = defn(indicator="price", operator=op, threshold=100)
    candles = make_candles(closes)
    res = evaluate_definition(d, candles)
    assert res.matched is expected
    assert res.value == float(closes[-1]) and res.reference_value == 100.0
    assert res.candle_time_ms == candles[-1].open_time_ms


# ------------------------------------------------------------------ reference form
# price vs sma_2: at candle i, price - sma_2 = (c[i] - c[i-1]) / 2, so the comparison is exact.


@pytest.mark.parametrize(
    ("op", "closes", "expected"),
    [
        (">", [10, 10, 12], True),
        (">", [10, 12, 12], False),
        (">", [10, 12, 10], False),
        ("<", [10, 12, 10], True),
        ("<", [10, 12, 12], False),
        ("<", [10, 10, 12], False),
        (">=", [10, 12, 12], True),
        (">=", [10, 10, 12], True),
        (">=", [10, 12, 10], False),
        ("<=", [10, 12, 12], True),
        ("<=", [10, 12, 10], True),
        ("<=", [10, 10, 12], False),
        ("==", [10, 12, 12], True),
        ("==", [10, 10, 12], False),
        ("crosses_above", [10, 10, 12], True),  # touch, then above
        ("crosses_above", [12, 10, 12], True),  # below, then above
        ("crosses_above", [10, 12, 14], False),  # already above
        ("crosses_above", [12, 10, 10], False),  # below, then touch
        ("crosses_above", [12, 10, 8], False),
        ("crosses_below", [10, 10, 8], True),
        ("crosses_below", [8, 10, 8], True),
        ("crosses_below", [12, 10, 8], False),  # already below
        ("crosses_below", [8, 10, 10], False),  # above, then touch
        ("crosses_below", [8, 10, 12], False),
        ("crosses_above", [10, 12], False),  # sma_2 undefined on the previous candle
    ],
)
def test_every_operator_reference_form(op: str, closes: list, expected: bool) -> None:
    d = defn(indicator="price", operator=op, reference="sma_2")
    res = evaluate_definition(d, make_candles(closes))
    assert res.matched is expected
    assert res.value == closes[-1]
    assert res.reference_value == (closes[-1] + closes[-2]) / 2


def test_volume_vs_multiple_of_previous_average() -> None:
    d = defn(indicator="volume", period=2, operator=">", threshold="2x_avg")
    candles = make_candles([1, 1, 1], [100, 100, 250])
    res = evaluate_definition(d, candles)
    # the average excludes the spike itself: 2 x mean(100, 100) = 200 < 250
    assert (res.matched, res.value, res.reference_value) == (True, 250.0, 200.0)
    candles = make_candles([1, 1, 1], [100, 100, 200])
    assert evaluate_definition(d, candles).matched is False  # equal is not above
    d = defn(indicator="volume", period=1, operator="crosses_above", reference="1.5x_avg")
    # volume[i] vs 1.5 * volume[i-1]: prev 150 <= 1.5*100, now 400 > 1.5*150
    assert evaluate_definition(d, make_candles([1, 1, 1], [100, 150, 400])).matched is True
    assert evaluate_definition(d, make_candles([1, 1, 1], [100, 200, 400])).matched is False


def test_not_enough_history_never_matches() -> None:
    d = defn(indicator="volume", period=5, operator=">", threshold="1x_avg")
    res = evaluate_definition(d, make_candles([1, 1, 1], [1, 1, 1000]))
    assert (res.matched, res.value, res.reference_value) == (False, 1000.0, None)
    res = evaluate_definition(
        defn(indicator="rsi", operator="<", threshold=101), make_candles([1, 2])
    )
    assert (res.matched, res.value, res.candle_time_ms) == (False, None, T0 + HOUR)
    res = evaluate_definition(defn(indicator="rsi", operator="<", threshold=101), [])
    assert res.model_dump() == {
        "matched": False,
        "value": None,
        "reference_value": None,
        "candle_time_ms": None,
    }


def test_rsi_threshold_uses_talib_value() -> None:
    closes = [100 - i * 0.5 + (i % 3) for i in range(40)]
    expected = float(talib.RSI(np.array(closes, dtype=float), timeperiod=14)[-1])
    res = evaluate_definition(
        defn(indicator="rsi", operator="<", threshold=35), make_candles(closes)
    )
    assert res.value == pytest.approx(expected, rel=1e-12)
    assert res.matched is (expected < 35)


def _sine(n: int = 200) -> list[float]:
    return [round(100 + 10 * np.sin(i / 8) + 0.1 * i, 6) for i in range(n)]


def test_macd_crosses_signal_line_matches_direct_talib() -> None:
    closes = _sine()
    macd, sig, _ = talib.MACD(np.array(closes), fastperiod=12, slowperiod=26, signalperiod=9)
    above = defn(indicator="macd", operator="crosses_above", reference="signal_line")
    below = defn(indicator="macd", operator="crosses_below", reference="signal_line")
    candles = make_candles(closes)
    seen_above = seen_below = 0
    for i in range(1, len(closes)):
        if np.isnan(sig[i - 1]):
            continue
        exp_above = macd[i - 1] <= sig[i - 1] and macd[i] > sig[i]
        exp_below = macd[i - 1] >= sig[i - 1] and macd[i] < sig[i]
        assert evaluate_definition(above, candles[: i + 1]).matched is bool(exp_above)
        assert evaluate_definition(below, candles[: i + 1]).matched is bool(exp_below)
        seen_above += bool(exp_above)
        seen_below += bool(exp_below)
    assert seen_above >= 2 and seen_below >= 2


def test_ema_crosses_sma_and_bollinger_reference() -> None:
    closes = _sine()
    c = np.array(closes)
    ema, sma = talib.EMA(c, 10), talib.SMA(c, 30)
    upper = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)[0]
    golden = defn(indicator="ema", period=10, operator="crosses_above", reference="sma_30")
    over_band = defn(indicator="price", operator=">", reference="bb_upper")
    candles = make_candles(closes)
    for i in (60, 99, 150, 199):
        res = evaluate_definition(golden, candles[: i + 1])
        assert res.value == pytest.approx(ema[i], rel=1e-9)
        assert res.reference_value == pytest.approx(sma[i], rel=1e-9)
        assert res.matched is bool(ema[i - 1] <= sma[i - 1] and ema[i] > sma[i])
        res = evaluate_definition(over_band, candles[: i + 1])
        assert res.reference_value == pytest.approx(upper[i], rel=1e-9)
        assert res.matched is bool(c[i] > upper[i])


def test_price_change_pct_and_extra_series() -> None:
    d = defn(indicator="price_change_pct", period=2, operator=">=", threshold=5)
    res = evaluate_definition(d, make_candles([100, 90, 105]))
    assert res.matched and res.value == pytest.approx(5.0)
    fr = defn(indicator="funding_rate", operator=">", threshold="0.0001")
    candles = make_candles([1, 2, 3])
    assert evaluate_definition(fr, candles, {"funding_rate": [0.0002]}).matched is True
    assert evaluate_definition(fr, candles, {"funding_rate": [0.00005]}).matched is False
    assert evaluate_definition(fr, candles).matched is False
    oi = defn(indicator="open_interest", operator="crosses_above", threshold=1000)
    extra = {"open_interest": {T0 + HOUR: 900, T0 + 2 * HOUR + 60_000: 1100}}
    res = evaluate_definition(oi, candles, extra)
    assert (res.matched, res.value, res.reference_value) == (True, 1100.0, 1000.0)


def test_only_closed_candles_are_evaluated() -> None:
    d = defn(indicator="price", operator=">", threshold=100)
    candles = make_candles([101, 99])  # opens T0 and T0+1h
    assert evaluate_definition(d, candles).matched is False  # all closed by default
    res = evaluate_definition(d, candles, now_ms=T0 + HOUR + 30 * 60_000)  # 2nd still open
    assert (res.matched, res.candle_time_ms) == (True, T0)
    res = evaluate_definition(d, candles, now_ms=T0 + 2 * HOUR)  # 2nd just closed
    assert (res.matched, res.candle_time_ms) == (False, T0 + HOUR)
    assert evaluate_definition(d, candles, now_ms=T0 + 10).candle_time_ms is None


# ------------------------------------------------------------------ pools


DEFS = {
    1: defn(name="price>100", indicator="price", operator=">", threshold=100),
    2: defn(name="vol spike", indicator="volume", period=2, operator=">", threshold="2x_avg"),
    3: defn(name="disabled", indicator="price", operator="<", threshold=0, enabled=False),
    "4h": defn(name="4h above", indicator="price", operator=">", threshold=50, timeframe="4h"),
}


def market() -> dict[str, dict[str, list]]:
    return {
        "BTC": {"1h": make_candles([99, 100, 101], [10, 10, 30])},
        "ETH": {"1h": make_candles([99, 100, 101], [10, 10, 15])},
        "SOL": {"1h": make_candles([99, 100, 99], [10, 10, 10])},
    }


def pool(**kw: Any) -> SignalPool:
    body: dict[str, Any] = {"name": "p", "symbols": ["BTC", "ETH", "SOL", "DOGE"]}
    body.update(kw)
    return SignalPool.model_validate(body)


def test_and_pool() -> None:
    out = evaluate_pool(pool(signal_ids=[1, 2, 3]), DEFS, market())
    assert list(out) == ["BTC", "ETH", "SOL", "DOGE"]
    assert {s: r.condition for s, r in out.items()} == {
        "BTC": True,
        "ETH": False,
        "SOL": False,
        "DOGE": False,
    }
    btc = out["BTC"]
    assert btc.candle_time_ms == T0 + 2 * HOUR
    assert [m.signal_id for m in btc.matches] == [1, 2]  # the disabled one is not evaluated
    assert [m.signal_id for m in btc.evaluated] == [1, 2]
    spike = btc.matches[1]
    assert (spike.name, spike.value, spike.reference_value) == ("vol spike", 30.0, 20.0)
    assert spike.reference == "2x_avg" and spike.timeframe is Interval.H1
    eth = out["ETH"]
    assert [m.signal_id for m in eth.matches] == [1]
    assert [m.matched for m in eth.evaluated] == [True, False]
    doge = out["DOGE"]  # no candles at all
    assert (doge.condition, doge.candle_time_ms, doge.matches) == (False, None, [])
    assert [m.value for m in doge.evaluated] == [None, None]


def test_or_pool() -> None:
    out = evaluate_pool(pool(signal_ids=[1, 2], logic="or"), DEFS, market())
    assert {s: r.condition for s, r in out.items()} == {
        "BTC": True,
        "ETH": True,
        "SOL": False,
        "DOGE": False,
    }
    assert [m.signal_id for m in out["ETH"].matches] == [1]


def test_disabled_missing_and_empty() -> None:
    everything_true = market()
    # only disabled definitions (and an unknown id): never true, even though 3 would match
    d3 = DEFS[3].model_copy(update={"threshold": 1000})
    for logic in ("and", "or"):
        out = evaluate_pool(pool(signal_ids=[3, 99], logic=logic), {**DEFS, 3: d3}, everything_true)
        assert not any(r.condition for r in out.values())
        assert all(r.evaluated == [] for r in out.values())
    out = evaluate_pool(pool(signal_ids=[]), DEFS, everything_true)
    assert not any(r.condition for r in out.values())
    out = evaluate_pool(pool(signal_ids=[1], enabled=False), DEFS, everything_true)
    assert not any(r.condition for r in out.values())
    # an unknown id is skipped, not counted as false
    out = evaluate_pool(pool(signal_ids=[1, 99]), DEFS, everything_true)
    assert out["BTC"].condition is True


def test_pool_timeframes_extra_and_now() -> None:
    candles = {
        "BTC": {
            "1h": make_candles([99, 101]),
            Interval.H4: make_candles([40, 60], timeframe="4h"),
        }
    }
    p = SignalPool(name="p", symbols=["BTC"], signal_ids=[1, "4h"])
    res = evaluate_pool(p, DEFS, candles)["BTC"]
    assert res.condition is True
    assert res.candle_time_ms == T0 + 4 * HOUR  # the latest candle among the evaluated ones
    # at T0+5h the second 4h candle has not closed: the first one (40) is evaluated
    res = evaluate_pool(p, DEFS, candles, now_ms=T0 + 5 * HOUR)["BTC"]
    assert res.condition is False
    assert [m.candle_time_ms for m in res.evaluated] == [T0 + HOUR, T0]
    fr = {"f": defn(indicator="funding_rate", operator="<", threshold=0)}
    p = SignalPool(name="p", symbols=["BTC", "ETH"], signal_ids=["f"])
    out = evaluate_pool(
        p, fr, {"BTC": candles["BTC"], "ETH": candles["BTC"]}, {"BTC": {"funding_rate": [-0.01]}}
    )
    assert (out["BTC"].condition, out["ETH"].condition) == (True, False)
    assert out["BTC"].matches[0].value == -0.01
