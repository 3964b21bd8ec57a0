"""Each trader trades on its own exchange: the paper engine, or its live venue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.base import AccountView, Unsettled
from adapters.exchanges.client import ExchangeError
from adapters.exchanges.live import LiveExchanges, VenueFeed
from adapters.exchanges.paper import NEVER_EXECUTED, PaperExchange
from adapters.market.feed import MarketFeed
from db.order_status import set_order_status
from db.tables import ACCOUNTS
from db.transactions import read
from domain.backfill import history_source
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.vocabulary import Exchange

_KIND = select(ACCOUNTS.c.exchange, ACCOUNTS.c.exchange_environment, ACCOUNTS.c.symbols).where(
    ACCOUNTS.c.id == bindparam("b_account")
)  # built once (see db/decisions.py)


class ExchangeRouter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        paper: PaperExchange,
        live: LiveExchanges,
        feed: MarketFeed,
        paper_source: str | None = None,
    ) -> None:
        self.sessions = sessions
        # Where paper traders' market data comes from, when it is a venue's (the `source` of
        # stored market history); None for the simulated feed, which has no history.
        self.paper_source = paper_source
        self.paper = paper
        self.live = live
        self.feed = feed
        # A trader's exchange never changes: True/False per account (shared objects: an idle
        # trader leaves one int here, not strings and lists that would keep the memory of its
        # evicted run from going back to the system; see worker_cache).
        self._paper: dict[int, bool] = {}

    async def _account(self, account_id: int) -> Any:
        key = {"b_account": account_id}
        row = await read(self.sessions, lambda s: s.connection().execute(_KIND, key).first())
        if row is None:
            raise LookupError(f"account {account_id} not found")
        return row

    async def is_paper(self, account_id: int) -> bool:
        paper = self._paper.get(account_id)
        if paper is None:
            exchange = (await self._account(account_id)).exchange
            paper = self._paper[account_id] = exchange == Exchange.PAPER
        return paper

    async def feed_for(self, account_id: int) -> MarketFeed:
        if await self.is_paper(account_id):
            return self.feed
        # The symbols are read each time: an update of the trader changes them.
        symbols = list((await self._account(account_id)).symbols)
        return VenueFeed(self.live, account_id, symbols)

    async def history_source(self, account_id: int) -> str | None:
        """The `source` the trader's market history is stored under (db/factor_history.py):
        its venue and environment when live; the paper feed's venue, or None (simulated)."""
        if await self.is_paper(account_id):
            return self.paper_source
        acct = await self._account(account_id)
        env = acct.exchange_environment
        return history_source(acct.exchange, env) if env else None

    async def sync(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        target = self.paper if await self.is_paper(account_id) else self.live
        return await target.sync(account_id, marks)

    async def view(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        target = self.paper if await self.is_paper(account_id) else self.live
        return await target.view(account_id, marks)

    async def place_order(self, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        target = self.paper if await self.is_paper(intent.account_id) else self.live
        return await target.place_order(intent, mark)

    async def place_order_retry(self, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        """A later attempt: an earlier one may have reached the venue."""
        if await self.is_paper(intent.account_id):
            # One transaction: the row says whether it executed.
            return await self.paper.place_order(intent, mark)
        return await self.live.place_order(intent, mark, retry=True)

    async def resolve_order(self, intent: OrderIntent, deadline: float) -> OrderOutcome:
        target = self.paper if await self.is_paper(intent.account_id) else self.live
        return await target.resolve_order(intent, deadline)

    async def settle(self, account_id: int, order: Unsettled, reason: str) -> str | None:
        """Record the venue's state of an unsettled order, with its `order_resolved` finding
        (`reason`: the sync's) in the same transaction; its new status, or None if the venue
        cannot say yet."""
        if await self.is_paper(account_id):
            async with self.sessions() as s, s.begin():
                row = await s.run_sync(
                    lambda sync: set_order_status(
                        sync,
                        order.client_order_id,
                        OrderStatus.REJECTED,
                        "reconcile",
                        only_from=NEVER_EXECUTED,  # the paper order never committed
                        found_by=reason,
                        reject_reason="NOT_PLACED: never executed; found by reconciliation",
                    )
                )
            return None if row is None else row.status.value
        async with self.live.client(account_id) as client:
            found = await client.lookup(order.client_order_id, order.symbol)
        if found is None:
            return None
        stands = await self.live.record_outcome(found, "reconcile", found_by=reason)
        return (found if stands is None else stands).status.value

    async def foreign_open_orders(self, account_id: int, ours: set[str]) -> list[dict[str, Any]]:
        """Open orders at the venue that none of our client order ids names."""
        if await self.is_paper(account_id):
            return []  # paper orders (resting limits, TP/SL) live in our own state
        async with self.live.client(account_id) as client:
            known = ours | {client.venue_client_id(c) for c in ours}
            opened = await client.open_orders()
        return [
            o for o in opened if (o.get("client_order_id") or o.get("venue_client_id")) not in known
        ]

    async def cancel(
        self, account_id: int, client_order_id: str, symbol: str | None
    ) -> tuple[bool, str]:
        if await self.is_paper(account_id):  # only a limit order rests on the paper book
            return await self.paper.cancel(account_id, client_order_id)
        async with self.live.client(account_id) as client:
            done = await client.cancel(client_order_id, symbol)
        return done, "" if done else "no open order with that id at the exchange"

    async def mark_cancelled(self, client_order_id: str) -> None:
        """The venue cancelled the order (it found it resting first): recorded if it is ours."""
        async with self.sessions() as s, s.begin():
            await s.run_sync(
                lambda sync: set_order_status(
                    sync, client_order_id, OrderStatus.CANCELLED, "cancel"
                )
            )

    async def market_extras(self, account_id: int, symbols: list[str]) -> dict[str, object]:
        """Funding and open interest where the trader's venue offers them (best effort)."""
        if await self.is_paper(account_id):
            return {}
        funding: dict[str, str] = {}
        open_interest: dict[str, str] = {}
        async with self.live.client(account_id) as client:
            for sym in symbols:
                try:
                    rate, oi = await client.funding(sym), await client.open_interest(sym)
                except ExchangeError:
                    continue  # context without it rather than no decision
                if rate is not None:
                    funding[sym] = str(rate)
                if oi is not None:
                    open_interest[sym] = str(oi)
        return {"funding": funding, "open_interest": open_interest}
