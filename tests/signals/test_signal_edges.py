"""Edge triggering, cooldown and deterministic fire ids."""

from __future__ import annotations

import pytest

from domain.signals import (
    EdgeState,
    PoolFire,
    SignalPool,
    evaluate_pool,
    fire_id,
    parse_definition,
    step,
    step_pool,
)
from tests.signals._support import make_candles

HOUR = 3_600_000


def run(
    conditions: list[bool],
    *,
    cooldown_s: int = 0,
    candle_times: list[int] | None = None,
    now_step_ms: int = HOUR,
    roundtrip: bool = False,
) -> list[bool]:
    state = EdgeState()
    fires = []
    for i, cond in enumerate(conditions):
        t = candle_times[i] if candle_times else i * HOUR
        state, fire = step(state, cond, t, i * now_step_ms, cooldown_s)
        if roundtrip:  # the workflow may be restarted between any two steps
            state = EdgeState.model_validate_json(state.model_dump_json())
        fires.append(fire)
    return fires


def test_fires_once_while_condition_stays_true() -> None:
    assert run([True] * 5) == [True, False, False, False, False]
    assert run([False, True, True, True, True, True]).count(True) == 1


def test_fires_again_after_going_false() -> None:
    assert run([True, True, False, True, True]) == [True, False, False, True, False]
    assert run([False, True, False, True, False, True]) == [False, True, False, True, False, True]


def test_false_never_fires() -> None:
    assert run([False] * 4) == [False] * 4


def test_cooldown_suppresses_and_consumes_the_edge() -> None:
    # one evaluation per minute, cooldown 5 minutes
    conds = [True, False, True, False, False, False, True]
    fires = run(conds, cooldown_s=300, now_step_ms=60_000)
    # t=2min: within cooldown of the t=0 fire; t=6min: allowed again
    assert fires == [True, False, False, False, False, False, True]
    # a suppressed edge is consumed: staying true past the cooldown does not fire
    fires = run(
        [True, False, True, True, True, True, True, True], cooldown_s=300, now_step_ms=60_000
    )
    assert fires == [True] + [False] * 7
    # exactly at the cooldown boundary it fires
    fires = run([True, False, True], cooldown_s=120, now_step_ms=60_000)
    assert fires == [True, False, True]


def test_same_candle_fires_once() -> None:
    # same candle evaluated twice (condition true both times)
    assert run([True, True], candle_times=[HOUR, HOUR]) == [True, False]
    # the condition flickers within the same candle: still one fire for that candle
    assert run([True, False, True], candle_times=[HOUR, HOUR, HOUR]) == [True, False, False]
    # an older candle (out-of-order data) does not fire either
    assert run([True, False, True], candle_times=[2 * HOUR, 2 * HOUR, HOUR]) == [
        True,
        False,
        False,
    ]
    # the next candle may fire
    assert run([True, False, True], candle_times=[HOUR, HOUR, 2 * HOUR]) == [True, False, True]


def test_state_survives_serialisation_between_steps() -> None:
    conds = [True, True, False, True, False, True, True]
    assert run(conds, roundtrip=True) == run(conds)
    assert run(conds, cooldown_s=7200, roundtrip=True) == run(conds, cooldown_s=7200)


def test_step_records_what_fired() -> None:
    s, fire = step(EdgeState(), True, 1000, 5000, 60)
    assert fire and s == EdgeState(
        last_condition=True, last_fired_candle_ms=1000, last_fired_at_ms=5000
    )
    s2, fire = step(s, False, 2000, 6000, 60)
    assert not fire and s2 == s.model_copy(update={"last_condition": False})
    s3, fire = step(s2, False, None, 7000, 60)  # no data at all: fine while false
    assert not fire and s3 == s2


def test_step_errors() -> None:
    with pytest.raises(ValueError, match="cooldown_s must be >= 0"):
        step(EdgeState(), True, 1, 1, -1)
    with pytest.raises(ValueError, match="needs its candle_time_ms"):
        step(EdgeState(), True, None, 1, 0)


def test_fire_id_is_deterministic() -> None:
    assert fire_id(7, "BTC", 123) == fire_id(7, "btc ", 123) == "signal-pool-7:BTC@123"
    assert fire_id(7, "BTC", 123) != fire_id(7, "BTC", 124)
    assert fire_id(7, "BTC", 123) != fire_id(8, "BTC", 123)
    assert fire_id(7, "BTC", 123) != fire_id(7, "ETH", 123)


def test_step_pool_end_to_end() -> None:
    defs = {
        1: parse_definition({"name": "up", "indicator": "price", "operator": ">", "threshold": 100})
    }
    pool = SignalPool(name="p", symbols=["BTC", "ETH"], signal_ids=[1], cooldown_seconds=0)
    closes = {"BTC": [99, 101, 102, 99, 103, 104], "ETH": [99, 99, 99, 99, 99, 101]}
    states: dict[str, EdgeState] = {"OLD": EdgeState(last_condition=True)}
    fired: list[PoolFire] = []
    for i in range(1, 7):
        market = {s: {"1h": make_candles(c[:i])} for s, c in closes.items()}
        results = evaluate_pool(pool, defs, market)
        # evaluating the same data twice (e.g. a retried activity) fires nothing more
        for _ in range(2):
            states, fires = step_pool(11, pool, states, results, now_ms=i * HOUR)
            states = {
                k: EdgeState.model_validate(v.model_dump(mode="json")) for k, v in states.items()
            }
            fired.extend(fires)
    assert set(states) == {"BTC", "ETH"}  # symbols no longer in the pool are dropped
    t0 = make_candles([1])[0].open_time_ms
    assert [(f.symbol, f.candle_time_ms) for f in fired] == [
        ("BTC", t0 + HOUR),
        ("BTC", t0 + 4 * HOUR),
        ("ETH", t0 + 5 * HOUR),
    ]
    f = fired[1]
    assert f.fire_id == fire_id(11, "BTC", t0 + 4 * HOUR)
    assert (f.pool_id, f.pool_name, f.logic, f.fired_at_ms) == (11, "p", "and", 5 * HOUR)
    assert [(m.signal_id, m.value, m.reference_value) for m in f.matches] == [(1, 103.0, 100.0)]
    assert PoolFire.model_validate_json(f.model_dump_json()) == f


def test_step_pool_cooldown_and_missing_results() -> None:
    defs = {
        1: parse_definition({"name": "up", "indicator": "price", "operator": ">", "threshold": 100})
    }
    pool = SignalPool(name="p", symbols=["BTC"], signal_ids=[1], cooldown_seconds=3 * 3600)
    closes = [99, 101, 99, 101, 99, 99, 101]
    states: dict[str, EdgeState] = {}
    fired = []
    for i in range(1, len(closes) + 1):
        results = evaluate_pool(pool, defs, {"BTC": {"1h": make_candles(closes[:i])}})
        states, fires = step_pool(1, pool, states, results, now_ms=i * HOUR)
        fired += [f.candle_time_ms for f in fires]
    # fires at i=2; the i=4 edge is within 3h; the i=7 edge is 5h later
    t0 = make_candles([1])[0].open_time_ms
    assert fired == [t0 + HOUR, t0 + 6 * HOUR]
    # a symbol without a result counts as false
    states, fires = step_pool(1, pool, states, {}, now_ms=100 * HOUR)
    assert fires == [] and states["BTC"].last_condition is False
