"""Messages and state of the signal pool workflow (carried across continue-as-new)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.signals import EdgeState, PoolFire
from domain.trader import SignalFired


class SignalPoolInput(BaseModel):
    pool_id: int
    edges: dict[str, EdgeState] = Field(default_factory=dict)
    last_candle_ms: int | None = None
    continue_as_new_events: int = 2000


class SignalPoolStatus(BaseModel):
    pool_id: int
    enabled: bool
    interval_seconds: int
    last_candle_ms: int | None
    fires: int
    edges: dict[str, EdgeState]


def trader_signal(fire: PoolFire) -> SignalFired:
    """What a bound trader receives when the pool fires (its decision's trigger context)."""
    return SignalFired(
        fire_id=fire.fire_id,
        pool_id=int(fire.pool_id),
        symbol=fire.symbol,
        context={
            "pool_name": fire.pool_name,
            "logic": fire.logic.value,
            "candle_time_ms": fire.candle_time_ms,
            "fired_at_ms": fire.fired_at_ms,
            "matches": [m.model_dump(mode="json") for m in fire.matches],
        },
    )
