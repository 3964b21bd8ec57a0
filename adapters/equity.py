"""The periodic equity sample and the thinning of old points (README "Equity history"), for
the activities in activities/equity.py.

One pass values every trader the sample covers (db/equity.py, `candidates`): paper traders
from their stored state at the market's current marks (one price per symbol for all of them),
live traders from their venue's account view, a few at a time under a timeout each. A trader
whose values cannot be had (its venue or the market data is down) is skipped with a logged
reason; the others are recorded, each point with its `asset_curve_update` event, in one write.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from adapters.exchanges.base import AccountView
from adapters.exchanges.router import ExchangeRouter
from db import equity
from db.base import utcnow
from db.session import Sessions
from db.transactions import read, write
from domain import paper
from domain.equity import EquityPoint, EquitySampleResult, EquityThinResult

log = logging.getLogger("hyperoru.equity")

# Live venues asked at once, how long one may take, and how long all of them may take in a pass
# (the activity's own limit is 50 s: the points that came back are written well before it).
LIVE_CONCURRENCY = 8
LIVE_TIMEOUT_S = 10.0
LIVE_BUDGET_S = 30.0
# Each thinning step aims at this long a write transaction (see `thin`), within these spans.
THIN_STEP_S = 0.1
MIN_THIN_SPAN = timedelta(minutes=5)
MAX_THIN_SPAN = timedelta(days=1)


class EquitySampler:
    def __init__(
        self,
        sessions: Sessions,
        exchange: ExchangeRouter,
        clock: Callable[[], datetime] = utcnow,
        live_concurrency: int = LIVE_CONCURRENCY,
        live_timeout_s: float = LIVE_TIMEOUT_S,
        live_budget_s: float = LIVE_BUDGET_S,
    ) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.clock = clock
        self.live_concurrency = live_concurrency
        self.live_timeout_s = live_timeout_s
        self.live_budget_s = live_budget_s

    async def sample(self) -> EquitySampleResult:
        """Record one point for every trader that is active or holds positions."""
        at = self.clock()
        found = await read(self.sessions, equity.candidates)
        states = {
            c.account_id: paper.account_from_dict(c.state)
            if c.state
            else paper.PaperAccount(cash=c.initial_capital)
            for c in found.paper
        }
        marks, missing = await self._marks(
            {sym for state in states.values() for sym in state.positions}, at
        )
        points: list[EquityPoint] = []
        skipped = 0
        for account_id, state in states.items():
            lacking = missing & set(state.positions)
            if lacking:
                log.warning("equity of %s not sampled: no price for %s", account_id, lacking)
                skipped += 1
                continue
            points.append(self.exchange.paper.view_of(state, marks).equity_point(account_id, at))
        live = await self._live_views(found.live)
        for account_id in found.live:
            view = live.get(account_id)
            if view is None:
                skipped += 1
            else:
                points.append(view.equity_point(account_id, at))
        if points:
            await write(self.sessions, lambda s: equity.record(s, *points))
        return EquitySampleResult(sampled=len(points), skipped=skipped)

    async def _marks(self, symbols: set[str], at: datetime) -> tuple[dict[str, Decimal], set[str]]:
        """The paper market's price of each symbol, and the symbols it could not price."""
        at_ms = int(at.timestamp() * 1000)
        marks: dict[str, Decimal] = {}
        missing: set[str] = set()
        for sym in sorted(symbols):
            try:
                marks[sym] = await self.exchange.feed.get_price(sym, at_ms)
            except Exception as err:  # a source fails in open-ended ways (see api/market.py)
                log.warning("equity sample: no price for %s: %s: %s", sym, type(err).__name__, err)
                missing.add(sym)
        self.exchange.paper.marks.update(marks)
        return marks, missing

    async def _live_views(self, account_ids: list[int]) -> dict[int, AccountView]:
        gate = asyncio.Semaphore(self.live_concurrency)

        async def one(account_id: int) -> tuple[int, AccountView | None]:
            async with gate:
                try:
                    view = await asyncio.wait_for(
                        self.exchange.live.view(account_id, {}), self.live_timeout_s
                    )
                    return account_id, view
                except Exception as err:  # one venue down never stops the others' points
                    reason = f"{type(err).__name__}: {err}"[:300]
                    log.warning("equity of %s not sampled: venue: %s", account_id, reason)
                    return account_id, None

        if not account_ids:
            return {}
        tasks = [asyncio.ensure_future(one(a)) for a in account_ids]
        done, late = await asyncio.wait(tasks, timeout=self.live_budget_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("equity sample: %d live traders not reached within the pass", len(late))
        got = [t.result() for t in done]
        return {a: v for a, v in got if v is not None}

    async def thin(self, now: datetime) -> EquityThinResult:
        """Thin old points as of `now`, one short transaction per step, until caught up.

        Why steps that adapt: a step's cost is the points it covers, which depends on the fleet
        and on how far behind thinning is (after the worker was down for days); aiming each at
        ~THIN_STEP_S keeps the database's write lock short without thousands of tiny steps."""
        deleted, span = 0, equity.THIN_SPAN
        while True:
            started = time.monotonic()
            gone, more = await write(self.sessions, functools.partial(_thin_step, now, span))
            deleted += gone
            if not more:
                return EquityThinResult(deleted=deleted)
            took = time.monotonic() - started
            if took < THIN_STEP_S / 2:
                span = min(span * 2, MAX_THIN_SPAN)
            elif took > THIN_STEP_S * 2:
                span = max(span / 2, MIN_THIN_SPAN)


def _thin_step(now: datetime, span: timedelta, s: Session) -> tuple[int, bool]:
    return equity.thin_step(s, now, span)
