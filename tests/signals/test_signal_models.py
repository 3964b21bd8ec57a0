"""SignalDefinition / SignalPool: both definition forms and every validation error."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.market import Interval
from domain.signals import (
    EdgeState,
    Indicator,
    Operator,
    PoolLogic,
    ReferenceSpec,
    SignalDefinition,
    SignalPool,
    parse_definition,
    parse_reference,
)


def flat(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "s", "indicator": "rsi", "operator": "<", "threshold": 30}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not ...}


# ------------------------------------------------------------------ flat form


def test_flat_form_defaults() -> None:
    d = parse_definition(flat())
    assert d.indicator is Indicator.RSI and d.operator is Operator.LT
    assert d.threshold == Decimal(30) and d.reference is None
    assert d.period == 14 and d.timeframe is Interval.H1 and d.enabled is True
    assert d.signal_type == "threshold"


@pytest.mark.parametrize(
    ("indicator", "period"),
    [
        ("rsi", 14),
        ("ema", 14),
        ("sma", 14),
        ("atr", 14),
        ("bb_upper", 20),
        ("bb_middle", 20),
        ("bb_lower", 20),
        ("macd", 26),
        ("macd_signal", 26),
        ("macd_hist", 26),
        ("volume", 20),
        ("price_change_pct", 1),
        ("price", None),
        ("funding_rate", None),
        ("open_interest", None),
    ],
)
def test_default_periods(indicator: str, period: int | None) -> None:
    assert parse_definition(flat(indicator=indicator)).period == period


def test_flat_form_normalises_and_round_trips() -> None:
    d = parse_definition(
        {
            "name": "  Golden cross ",
            "indicator": " EMA ",
            "period": 50,
            "operator": "CROSSES_ABOVE",
            "reference": " SMA_200 ",
            "timeframe": " 4H ",
            "enabled": False,
        }
    )
    assert d.name == "Golden cross" and d.indicator is Indicator.EMA
    assert d.operator is Operator.CROSSES_ABOVE and d.reference == "sma_200"
    assert d.timeframe is Interval.H4 and not d.enabled and d.signal_type == "crossover"
    assert SignalDefinition.model_validate_json(d.model_dump_json()) == d
    assert SignalDefinition.model_validate(d.model_dump()) == d
    assert parse_definition(d.to_nested()) == d


def test_docs_pool_example_signals() -> None:
    rsi = parse_definition(
        {"name": "a", "indicator": "rsi", "period": 14, "operator": "<", "threshold": 35}
    )
    price = parse_definition(
        {"name": "b", "indicator": "price", "operator": "crosses_above", "reference": "ema_50"}
    )
    vol = parse_definition(
        {"name": "c", "indicator": "volume", "operator": ">", "threshold": "2x_avg"}
    )
    assert rsi.threshold == 35
    assert price.reference_spec() == ReferenceSpec("ema", 50)
    assert vol.threshold is None and vol.reference == "2x_avg"
    assert vol.reference_spec() == ReferenceSpec("volume_avg", 20, 2.0)


def test_thresholds_accept_numbers_and_numeric_strings() -> None:
    assert parse_definition(flat(threshold=0.1)).threshold == Decimal("0.1")
    assert parse_definition(flat(threshold="-1.5e-4")).threshold == Decimal("-1.5e-4")
    assert parse_definition(flat(threshold=Decimal("7"))).threshold == 7


def test_crossing_with_a_threshold_is_allowed() -> None:
    d = parse_definition(flat(operator="crosses_below"))
    assert d.signal_type == "crossover" and d.threshold == 30


def test_references_and_their_periods() -> None:
    def spec(**kw: Any) -> ReferenceSpec | None:
        return parse_definition(flat(threshold=..., **kw)).reference_spec()

    assert spec(indicator="price", reference="bb_upper") == ReferenceSpec("bb_upper", 20)
    assert spec(indicator="price", period=30, reference="bb_lower") == ReferenceSpec("bb_lower", 30)
    assert spec(indicator="bb_upper", period=30, reference="bb_lower") == ReferenceSpec(
        "bb_lower", 30
    )
    assert spec(indicator="ema", period=10, reference="bb_middle") == ReferenceSpec("bb_middle", 20)
    assert spec(indicator="ema", period=10, reference="bb_middle_40") == ReferenceSpec(
        "bb_middle", 40
    )
    assert spec(indicator="ema", period=10, reference="price") == ReferenceSpec("price")
    assert spec(indicator="macd", reference="signal_line") == ReferenceSpec("signal_line", 26)
    assert spec(indicator="volume", period=24, reference="1.5x_avg") == ReferenceSpec(
        "volume_avg", 24, 1.5
    )
    assert parse_reference("EMA_200") == ReferenceSpec("ema", 200)


# ------------------------------------------------------------------ nested (older docs) form


def nested(sig_type: str = "threshold", **config: Any) -> dict[str, Any]:
    return {"name": "RSI Oversold", "type": sig_type, "config": config}


def test_nested_threshold_below_and_above() -> None:
    d = parse_definition(nested(indicator="rsi", threshold=30, direction="below"))
    assert (d.indicator, d.operator, d.threshold, d.period) == ("rsi", "<", 30, 14)
    d = parse_definition(nested(indicator="rsi", threshold=70, direction="Above", period=7))
    assert (d.operator, d.period) == (">", 7)


def test_nested_threshold_with_explicit_operator() -> None:
    d = parse_definition(nested(indicator="price", operator=">=", threshold=100, timeframe="5m"))
    assert d.operator is Operator.GE and d.timeframe is Interval.M5


def test_nested_crossover() -> None:
    d = parse_definition(
        nested("crossover", indicator="price", reference="ema_200", direction="above")
    )
    assert d.operator is Operator.CROSSES_ABOVE and d.reference == "ema_200"
    d = parse_definition(
        nested("crossover", indicator="macd", reference="signal_line", direction="below")
    )
    assert d.operator is Operator.CROSSES_BELOW
    d = parse_definition(
        nested("crossover", indicator="rsi", threshold=50, operator="crosses_above")
    )
    assert d.operator is Operator.CROSSES_ABOVE


def test_nested_volume_2x_avg_threshold_and_enabled() -> None:
    body = nested(indicator="volume", threshold="2x_avg", direction="above")
    body["enabled"] = False
    d = parse_definition(body)
    assert d.reference == "2x_avg" and d.threshold is None and d.operator is Operator.GT
    assert d.enabled is False


def test_flat_form_may_carry_type_and_direction() -> None:
    d = parse_definition(
        {
            "name": "x",
            "type": "threshold",
            "indicator": "rsi",
            "direction": "below",
            "threshold": 30,
        }
    )
    assert d.operator is Operator.LT
    d = parse_definition({"name": "x", "indicator": "rsi", "direction": "above", "threshold": 70})
    assert d.operator is Operator.GT


# ------------------------------------------------------------------ validation errors


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (flat(name=""), "name must be a non-empty string"),
        (flat(name="   "), "name must be a non-empty string"),
        (flat(name=5), "name must be a non-empty string"),
        (flat(name="x" * 101), "at most 100 characters"),
        (flat(name=...), "name"),
        (flat(indicator="vwap"), "unknown indicator 'vwap'; expected one of: price, volume"),
        (flat(indicator=...), "indicator"),
        (flat(operator="!="), "unknown operator '!='"),
        (flat(operator=...), "operator"),
        (flat(period="14"), "period must be an integer"),
        (flat(period=True), "period must be an integer"),
        (flat(period=14.0), "period must be an integer"),
        (flat(indicator="ema", period=0), "period for ema must be between 1 and 500, got 0"),
        (flat(period=501), "period for rsi must be between 2 and 500, got 501"),
        (flat(indicator="funding_rate", period=501), "period for funding_rate must be between 1"),
        (flat(indicator="rsi", period=1), "period for rsi must be between 2 and 500"),
        (flat(indicator="bb_upper", period=1), "period for bb_upper must be between 2 and 500"),
        (flat(indicator="macd", period=2), "period for macd must be between 3 and 500"),
        (
            flat(indicator="price", period=1, threshold=..., reference="bb_upper"),
            "period for bb_upper must be between 2 and 500",
        ),
        (flat(threshold="abc"), "threshold must be a number"),
        (flat(threshold="NaN"), "threshold must be a finite number"),
        (flat(threshold=float("inf")), "threshold must be a finite number"),
        (flat(threshold=True), "threshold must be a number"),
        (flat(threshold=[1]), "threshold must be a number"),
        (flat(threshold=...), "needs either a threshold"),
        (flat(threshold=None), "needs either a threshold"),
        (flat(indicator="price", reference="ema_50"), "either threshold or reference, not both"),
        (
            flat(indicator="volume", threshold="2x_avg", reference="3x_avg"),
            "either threshold or reference, not both",
        ),
        (flat(threshold=..., indicator="price", reference="vwap"), "unknown reference 'vwap'"),
        (flat(threshold=..., indicator="price", reference=50), "reference must be a string"),
        (flat(threshold=..., indicator="price", reference="ema_0"), "between 1 and 500, got 0"),
        (flat(threshold=..., indicator="price", reference="sma_501"), "between 1 and 500, got 501"),
        (flat(threshold=..., indicator="price", reference="bb_upper_1"), "between 2 and 500"),
        (flat(threshold=..., indicator="volume", reference="0x_avg"), "must be above 0"),
        (flat(threshold=..., indicator="volume", reference="1001x_avg"), "at most 1000"),
        (
            flat(threshold=..., indicator="price", reference="2x_avg"),
            "only allowed with indicator volume, not price",
        ),
        (flat(threshold="2x_avg"), "only allowed with indicator volume, not rsi"),
        (
            flat(threshold=..., indicator="macd_signal", reference="signal_line"),
            "signal_line is only allowed with indicator macd, not macd_signal",
        ),
        (
            flat(threshold=..., indicator="ema", reference="signal_line"),
            "signal_line is only allowed with indicator macd",
        ),
        (
            flat(threshold=..., indicator="rsi", reference="ema_50"),
            "price-level series; it can only be compared with price, ema, sma or bb_",
        ),
        (
            flat(threshold=..., indicator="volume", reference="price"),
            "it can only be compared with price",
        ),
        (
            flat(threshold=..., indicator="price", reference="price"),
            "price is compared with itself",
        ),
        (
            flat(threshold=..., indicator="ema", period=50, reference="ema_50"),
            "ema is compared with itself",
        ),
        (
            flat(threshold=..., indicator="bb_upper", reference="bb_upper"),
            "bb_upper is compared with itself",
        ),
        (flat(timeframe="2h"), "timeframe: unknown interval '2h'"),
        (flat(timeframe=60), "timeframe: interval must be a string"),
        (flat(enabled="maybe"), "enabled"),
        (flat(extra_field=1), "Extra inputs are not permitted"),
        # nested form
        (nested("pattern", indicator="rsi"), "signal type 'pattern' is not supported"),
        (nested("momentum", indicator="rsi"), "unknown signal type 'momentum'"),
        ({"name": "x", "config": {"indicator": "rsi"}}, "needs a type: threshold or crossover"),
        ({"name": "x", "type": "threshold", "config": "rsi<30"}, "config must be an object"),
        (
            nested(indicator="rsi", threshold=30, direction="below", foo=1),
            "unknown config field(s) foo",
        ),
        (
            {"name": "x", "type": "threshold", "config": {}, "indicator": "rsi"},
            "unknown field(s) indicator in a nested signal definition",
        ),
        (
            nested(indicator="rsi", threshold=30, direction="down"),
            "direction must be 'above' or 'below'",
        ),
        (
            nested(indicator="rsi", threshold=30, direction="below", operator="<"),
            "either operator or direction, not both",
        ),
        (
            nested("crossover", indicator="price", reference="ema_50"),
            "needs direction 'above' or 'below'",
        ),
        (
            nested("crossover", indicator="price", reference="ema_50", operator=">"),
            "needs operator crosses_above or crosses_below",
        ),
        (
            nested(indicator="price", reference="ema_50", operator="crosses_above"),
            "threshold signal cannot use operator crosses_above; use type 'crossover'",
        ),
        (nested(indicator="rsi", threshold=30), "operator"),
    ],
)
def test_definition_validation_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=_escape(message)):
        parse_definition(body)


def test_parse_definition_needs_an_object() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        parse_definition(["rsi"])  # type: ignore[arg-type]


def test_definition_is_frozen() -> None:
    d = parse_definition(flat())
    with pytest.raises(ValueError):
        d.period = 3  # type: ignore[misc]


# ------------------------------------------------------------------ pools


def test_pool_defaults_and_normalisation() -> None:
    p = SignalPool(name=" Bullish ", symbols=[" btc", "Eth "], signal_ids=[1, 2, "x"])
    assert p.name == "Bullish" and p.symbols == ["BTC", "ETH"]
    assert p.signal_ids == [1, 2, "x"] and p.logic is PoolLogic.AND
    assert p.cooldown_seconds == 0 and p.enabled
    assert (
        SignalPool.model_validate({"name": "p", "symbols": ["BTC"], "logic": "OR"}).logic
        is PoolLogic.OR
    )
    assert SignalPool.model_validate_json(p.model_dump_json()) == p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "", "symbols": ["BTC"]}, "name must be a non-empty string"),
        ({"name": "p", "symbols": []}, "a pool needs at least one symbol"),
        ({"name": "p"}, "symbols"),
        ({"name": "p", "symbols": "BTC"}, "symbols must be a list"),
        ({"name": "p", "symbols": ["BTC", "btc"]}, "duplicate symbol BTC"),
        ({"name": "p", "symbols": ["BTC", ""]}, "each symbol must be a non-empty string"),
        ({"name": "p", "symbols": [1]}, "each symbol must be a non-empty string"),
        ({"name": "p", "symbols": ["BT C"]}, "invalid symbol 'BT C'"),
        ({"name": "p", "symbols": ["X" * 33]}, "invalid symbol"),
        ({"name": "p", "symbols": ["BTC"], "signal_ids": [1, 1]}, "signal_ids contains duplicates"),
        ({"name": "p", "symbols": ["BTC"], "signal_ids": [True]}, "invalid signal id True"),
        ({"name": "p", "symbols": ["BTC"], "signal_ids": [""]}, "invalid signal id ''"),
        ({"name": "p", "symbols": ["BTC"], "signal_ids": 1}, "signal_ids must be a list"),
        ({"name": "p", "symbols": ["BTC"], "logic": "xor"}, "logic must be 'and' or 'or'"),
        (
            {"name": "p", "symbols": ["BTC"], "cooldown_seconds": -1},
            "between 0 and 2592000, got -1",
        ),
        ({"name": "p", "symbols": ["BTC"], "cooldown_seconds": 10**9}, "between 0 and 2592000"),
        ({"name": "p", "symbols": ["BTC"], "cooldown_seconds": 1.5}, "must be an integer"),
        ({"name": "p", "symbols": ["BTC"], "signals": []}, "Extra inputs are not permitted"),
    ],
)
def test_pool_validation_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=_escape(message)):
        SignalPool.model_validate(body)


def test_edge_state_round_trips() -> None:
    s = EdgeState(last_condition=True, last_fired_candle_ms=5, last_fired_at_ms=7)
    assert EdgeState.model_validate_json(s.model_dump_json()) == s
    assert EdgeState.model_validate(s.model_dump(mode="json")) == s
    assert EdgeState() == EdgeState(last_condition=False)


def _escape(message: str) -> str:
    import re

    return re.escape(message)
