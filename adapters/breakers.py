"""The circuit breakers' check on an account sync (README "Circuit breakers and the kill
switch"): the equity the sync found, judged by domain/breakers.py against what the breakers
remember (db/breakers.py), in one transaction that stores what they remember next."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from adapters.exchanges.base import AccountView
from db import breakers
from db.base import utcnow
from db.session import Sessions
from db.transactions import write
from domain.breakers import BreakerSettings, BreakerTrip, day_open_window, evaluate


class BreakerCheck:
    def __init__(self, sessions: Sessions, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def check(
        self, account_id: int, settings: BreakerSettings, view: AccountView, rearm: bool
    ) -> BreakerTrip | None:
        """The trip, if `view`'s equity crosses a limit. `rearm` (a resume): the breakers are
        armed afresh from this equity first, so the loss that paused the trader does not trip
        it again at once."""
        if not settings.on:
            return None
        fn = functools.partial(_check, account_id, settings, view, rearm, self.clock())
        return await write(self.sessions, fn)


def _check(
    account_id: int,
    settings: BreakerSettings,
    view: AccountView,
    rearm: bool,
    now: datetime,
    s: Session,
) -> BreakerTrip | None:
    before = None if rearm else breakers.state_of(s, account_id)
    if rearm:
        breakers.disarm(s, account_id)
    window = day_open_window(before, now) if before is not None else None
    day_open = breakers.day_open_equity(s, account_id, *window) if window else None
    state, trip = evaluate(settings, before, view.equity_usd, now, day_open)
    breakers.save(s, account_id, before, state)
    if trip is not None and trip.closes_positions:
        trip.symbols = sorted({p.symbol for p in view.positions})
    return trip
