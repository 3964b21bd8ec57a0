"""Account sync: a trader's account brought in line with its exchange. Fills and TP/SL
triggers are recorded, unsettled orders settled, drift recorded (adapters/exchanges/reconcile.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from adapters.exchanges.client import ExchangeError
from adapters.exchanges.reconcile import Reconciler, last_trade_row
from adapters.exchanges.router import ExchangeRouter
from adapters.market.snapshot import now_ms
from db.order_status import resting_orders
from db.session import Sessions
from db.traders import symbols_of
from db.transactions import read
from domain.contracts import SyncAccountInput, SyncAccountResult


class AccountSync:
    def __init__(self, sessions: Sessions, exchange: ExchangeRouter) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.reconciler = Reconciler(sessions, exchange)

    async def sync(self, req: SyncAccountInput) -> SyncAccountResult:
        def before_sync(s: Session) -> tuple[list[str], int]:
            # The last trade row before the sync: fills after it are the sync's findings.
            return symbols_of(s, req.account_id), last_trade_row(s, req.account_id)

        symbols, trades_before = await read(self.sessions, before_sync)
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
        closed = len(before.positions) - len(after.positions)
        resting = await read(self.sessions, lambda s: resting_orders(s, req.account_id))
        return SyncAccountResult(
            open_positions=len(after.positions),
            resting_orders=resting,
            trigger_fills=max(closed, 0),
            fills_recorded=report.fills_recorded,
            orders_resolved=report.orders_resolved,
            drift=report.drift,
        )
