"""Messages and state of the signal pool workflow (carried across continue-as-new)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.signals import EdgeState


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
