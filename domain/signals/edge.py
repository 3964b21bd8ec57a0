"""Edge-triggered firing with a cooldown: a pool fires for a symbol when its condition becomes
true (not while it stays true), at most once per candle, and not within the cooldown. The state
per pool and symbol is a small JSON-serialisable model the pool workflow keeps."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from domain.ids import fire_id
from domain.signals.pools import PoolResult, SignalMatch, SignalPool
from domain.signals.vocabulary import PoolLogic, SignalId


class EdgeState(BaseModel):
    """Per pool + symbol firing state; JSON-serialisable (model_dump / model_validate)."""

    model_config = ConfigDict(frozen=True)

    last_condition: bool = False
    last_fired_candle_ms: int | None = None
    last_fired_at_ms: int | None = None


def step(
    state: EdgeState,
    condition: bool,
    candle_time_ms: int | None,
    now_ms: int,
    cooldown_s: int,
) -> tuple[EdgeState, bool]:
    """Advance the state with the latest pool condition; (new_state, fire).

    Fires only on a false -> true transition, and then not if a fire happened less than
    cooldown_s seconds before now_ms, nor if one already happened for this candle time (or a
    later one). A transition suppressed by those rules is consumed: the condition must go false
    and true again to fire later."""
    if cooldown_s < 0:
        raise ValueError("cooldown_s must be >= 0")
    fire = condition and not state.last_condition
    if fire and candle_time_ms is None:
        raise ValueError("a true condition needs its candle_time_ms")
    if (
        fire
        and state.last_fired_candle_ms is not None
        and candle_time_ms is not None
        and candle_time_ms <= state.last_fired_candle_ms
    ):
        fire = False
    if (
        fire
        and state.last_fired_at_ms is not None
        and now_ms - state.last_fired_at_ms < cooldown_s * 1000
    ):
        fire = False
    if fire:
        return (
            EdgeState(
                last_condition=True, last_fired_candle_ms=candle_time_ms, last_fired_at_ms=now_ms
            ),
            True,
        )
    return state.model_copy(update={"last_condition": condition}), False


class PoolFire(BaseModel):
    """A pool fired for a symbol: the trigger context."""

    model_config = ConfigDict(frozen=True)

    fire_id: str
    pool_id: SignalId
    pool_name: str
    symbol: str
    logic: PoolLogic
    candle_time_ms: int
    fired_at_ms: int
    matches: list[SignalMatch]


def step_pool(
    pool_id: int,
    pool: SignalPool,
    states: Mapping[str, EdgeState],
    results: Mapping[str, PoolResult],
    now_ms: int,
) -> tuple[dict[str, EdgeState], list[PoolFire]]:
    """`step` for every pool symbol: (new states keyed by symbol, fires in symbol order).

    Symbols no longer in the pool lose their state; a symbol without a result counts as false."""
    new_states: dict[str, EdgeState] = {}
    fires: list[PoolFire] = []
    for symbol in pool.symbols:
        res = results.get(symbol)
        condition = bool(res and res.condition)
        t = res.candle_time_ms if res else None
        new, fire = step(
            states.get(symbol, EdgeState()), condition, t, now_ms, pool.cooldown_seconds
        )
        new_states[symbol] = new
        if fire and res is not None and t is not None:
            fires.append(
                PoolFire(
                    fire_id=fire_id(pool_id, symbol, t),
                    pool_id=pool_id,
                    pool_name=pool.name,
                    symbol=symbol,
                    logic=pool.logic,
                    candle_time_ms=t,
                    fired_at_ms=now_ms,
                    matches=res.matches,
                )
            )
    return new_states, fires
