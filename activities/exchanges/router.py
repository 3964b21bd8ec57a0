"""Each trader trades on its own exchange: the paper engine, or its live venue."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.exchanges.base import AccountView
from activities.exchanges.live import LiveExchanges, VenueFeed
from activities.exchanges.paper import PaperExchange
from activities.market.feed import MarketFeed
from db.models import Account
from domain.orders import OrderIntent, OrderOutcome


class ExchangeRouter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        paper: PaperExchange,
        live: LiveExchanges,
        feed: MarketFeed,
    ) -> None:
        self.sessions = sessions
        self.paper = paper
        self.live = live
        self.feed = feed
        self._kinds: dict[int, tuple[str, list[str]]] = {}  # a trader's exchange never changes

    async def _kind(self, account_id: int) -> tuple[str, list[str]]:
        if account_id not in self._kinds:
            async with self.sessions() as s:
                acct = await s.get(Account, account_id)
            if acct is None:
                raise LookupError(f"account {account_id} not found")
            self._kinds[account_id] = (acct.exchange, list(acct.symbols))
        return self._kinds[account_id]

    async def feed_for(self, account_id: int) -> MarketFeed:
        kind, symbols = await self._kind(account_id)
        return self.feed if kind == "paper" else VenueFeed(self.live, account_id, symbols)

    async def sync(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        kind, _ = await self._kind(account_id)
        target = self.paper if kind == "paper" else self.live
        return await target.sync(account_id, marks)

    async def view(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        kind, _ = await self._kind(account_id)
        target = self.paper if kind == "paper" else self.live
        return await target.view(account_id, marks)

    async def place_order(self, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        kind, _ = await self._kind(intent.account_id)
        target = self.paper if kind == "paper" else self.live
        return await target.place_order(intent, mark)
