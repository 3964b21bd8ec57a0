"""Account sync: a trader's account brought in line with its exchange. Fills and TP/SL
triggers are recorded, unsettled orders settled, drift recorded (adapters/exchanges/reconcile.py).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from adapters.account_snapshots import record_view
from adapters.breakers import BreakerCheck
from adapters.exchanges.base import AccountView
from adapters.exchanges.client import ExchangeError
from adapters.exchanges.reconcile import Reconciler, last_trade_row
from adapters.exchanges.router import ExchangeRouter
from adapters.market.snapshot import now_ms
from db.breakers import settings_of
from db.order_status import resting_orders
from db.session import Sessions
from db.traders import symbols_of
from db.transactions import read
from domain.breakers import BreakerSettings
from domain.contracts import SyncAccountInput, SyncAccountResult

log = logging.getLogger("hyperoru.exchanges")


class AccountSync:
    def __init__(self, sessions: Sessions, exchange: ExchangeRouter) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.reconciler = Reconciler(sessions, exchange)
        self.breakers = BreakerCheck(sessions)

    async def sync(self, req: SyncAccountInput) -> SyncAccountResult:
        def before_sync(s: Session) -> tuple[list[str], int, BreakerSettings]:
            # The last trade row before the sync: fills after it are the sync's findings.
            return (
                symbols_of(s, req.account_id),
                last_trade_row(s, req.account_id),
                settings_of(s, req.account_id),
            )

        symbols, trades_before, breakers = await read(self.sessions, before_sync)
        try:
            before = await self.exchange.view(req.account_id, {})
        except ExchangeError as err:
            if err.code == "NOT_CONNECTED":  # a live trader without keys yet holds nothing
                return SyncAccountResult(open_positions=0)
            raise
        held = sorted({*symbols, *(p.symbol for p in before.positions)})
        at = now_ms()
        feed = await self.exchange.feed_for(req.account_id)
        marks = {sym: await feed.get_price(sym, at) for sym in held}
        after = await self.exchange.sync(req.account_id, marks)
        report = await self.reconciler.run(req.account_id, req.reason, after, trades_before)
        await self._snapshot(req.account_id, after)
        closed = len(before.positions) - len(after.positions)
        # Why here: every sync (periodic, after a trade, on resume) sees the account's equity;
        # the breakers judge it before the workflow hears back (a trip pauses it).
        trip = await self.breakers.check(req.account_id, breakers, after, req.reason == "resume")
        resting = await read(self.sessions, lambda s: resting_orders(s, req.account_id))
        return SyncAccountResult(
            open_positions=len(after.positions),
            resting_orders=resting,
            trigger_fills=max(closed, 0),
            fills_recorded=report.fills_recorded,
            orders_resolved=report.orders_resolved,
            drift=report.drift,
            equity_usd=after.equity_usd,
            breaker=trip,
        )

    async def _snapshot(self, account_id: int, view: AccountView) -> None:
        """A live trader's venue account as this sync read it, stored as a snapshot. Why a
        failure is only logged: the snapshot is an observation, and the sync's own records
        (fills, settled orders) are already committed; retrying the sync for it would redo them
        against the venue."""
        if await self.exchange.is_paper(account_id):
            return
        try:
            await record_view(self.sessions, account_id, view)
        except SQLAlchemyError as err:
            log.warning("account %s: snapshot not stored: %s", account_id, type(err).__name__)
