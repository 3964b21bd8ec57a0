"""Circuit breakers: a trader pauses itself when its equity falls too far (pure).

Two optional limits per trader, each in % of an equity it is compared with:

- daily loss: the loss since the start of the UTC day, in % of that day's starting equity;
- max drawdown: the fall from the highest equity seen since the breaker was armed.

A breaker is armed when the trader's first account sync finds it configured, when its settings
change, and when the trader is resumed: each time from the equity of that moment, so a resumed
trader is not tripped again at once by the loss that paused it. The day's starting equity is
the last recorded equity point before the UTC day began (the equity history), or the equity of
the first evaluation that day when there is none.

`evaluate` is the whole rule: the state the caller stores next, and the trip (if any) with the
stable reason the trader pauses with (`CIRCUIT_BREAKER_DAILY_LOSS: ...`,
`CIRCUIT_BREAKER_MAX_DRAWDOWN: ...`; notifications match on the prefix).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

HUNDRED = Decimal(100)
# The reason a kill switch pauses a trader with (README "Circuit breakers and the kill switch").
KILL_SWITCH = "KILL_SWITCH"


class BreakerKind(StrEnum):
    DAILY_LOSS = "CIRCUIT_BREAKER_DAILY_LOSS"
    MAX_DRAWDOWN = "CIRCUIT_BREAKER_MAX_DRAWDOWN"


class BreakerSettings(BaseModel):
    """A trader's breaker settings (None: that breaker is off)."""

    daily_loss_limit_pct: Decimal | None = None
    max_drawdown_pct: Decimal | None = None
    closes_positions: bool = False

    @property
    def on(self) -> bool:
        return self.daily_loss_limit_pct is not None or self.max_drawdown_pct is not None


class BreakerState(BaseModel):
    """What the breakers remember between evaluations (stored per trader)."""

    armed_at: datetime
    day_start: datetime  # the UTC midnight that began the day `day_start_equity` belongs to
    day_start_equity: Decimal
    peak_equity: Decimal


class BreakerTrip(BaseModel):
    """A breaker crossed: the trader pauses with `reason`; with `closes_positions` it closes
    each of `symbols` (its open positions) as a decision of its own."""

    kind: BreakerKind
    reason: str
    equity: Decimal
    closes_positions: bool = False
    symbols: list[str] = Field(default_factory=list)


def utc_day_start(now: datetime) -> datetime:
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def arm(equity: Decimal, now: datetime) -> BreakerState:
    """A fresh state: today's start and the peak are the equity of this moment."""
    return BreakerState(
        armed_at=now, day_start=utc_day_start(now), day_start_equity=equity, peak_equity=equity
    )


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole * HUNDRED


def _show(d: Decimal) -> str:
    text = format(d.quantize(Decimal("0.01")).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def evaluate(
    settings: BreakerSettings,
    state: BreakerState | None,
    equity: Decimal,
    now: datetime,
    day_open_equity: Decimal | None = None,
) -> tuple[BreakerState, BreakerTrip | None]:
    """The breakers' verdict on `equity` at `now`: the state to store, and the trip if a limit
    is crossed (daily loss is checked first). `day_open_equity`: the last recorded equity before
    today began, used when `state` belongs to an earlier day (None: today starts at `equity`)."""
    if state is None:
        state = arm(equity, now)
    today = utc_day_start(now)
    if today > state.day_start:
        start = day_open_equity if day_open_equity is not None else equity
        state = state.model_copy(update={"day_start": today, "day_start_equity": start})
    state = state.model_copy(update={"peak_equity": max(state.peak_equity, equity)})
    limit = settings.daily_loss_limit_pct
    start = state.day_start_equity
    if limit is not None and start > 0 and equity < start:
        loss = _pct(start - equity, start)
        if loss >= limit:
            detail = (
                f"equity {_show(equity)} is {_show(loss)}% below the day's starting equity "
                f"{_show(start)} (limit {_show(limit)}%)"
            )
            return state, _trip(BreakerKind.DAILY_LOSS, detail, equity, settings)
    limit = settings.max_drawdown_pct
    peak = state.peak_equity
    if limit is not None and peak > 0 and equity < peak:
        drawdown = _pct(peak - equity, peak)
        if drawdown >= limit:
            detail = (
                f"equity {_show(equity)} is {_show(drawdown)}% below its peak {_show(peak)} "
                f"since {state.armed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
                f"(limit {_show(limit)}%)"
            )
            return state, _trip(BreakerKind.MAX_DRAWDOWN, detail, equity, settings)
    return state, None


def _trip(
    kind: BreakerKind, detail: str, equity: Decimal, settings: BreakerSettings
) -> BreakerTrip:
    return BreakerTrip(
        kind=kind,
        reason=f"{kind.value}: {detail}",
        equity=equity,
        closes_positions=settings.closes_positions,
    )


def day_open_window(state: BreakerState, now: datetime) -> tuple[datetime, datetime] | None:
    """When `state` belongs to an earlier day: the span whose last equity point opens today
    (from the arming, so a point from before a re-arm never counts, to today's midnight)."""
    today = utc_day_start(now)
    if today <= state.day_start:
        return None
    return state.armed_at, today
