"""A crafted price path for stack tests: the simulated market feed, with prices the test sets.

`steered_stack` runs the whole stack (API and worker) on one `SteeredFeed`: a symbol the test
has priced trades, marks and syncs at that price everywhere; any other keeps the simulated one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from adapters.market.feed import MarketFeed
from config.settings import Settings
from db.session import make_engine, make_sessionmaker
from domain.market import Candle, Interval
from runtime.deps import default_deps
from runtime.worker import running_workers
from tests.support.stack import Stack, full_stack


class SteeredFeed:
    def __init__(self, inner: MarketFeed) -> None:
        self.inner = inner
        self.name = inner.name
        self.prices: dict[str, Decimal] = {}

    def symbols(self) -> list[str]:
        return self.inner.symbols()

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        if symbol in self.prices:
            return self.prices[symbol]
        return await self.inner.get_price(symbol, at_ms)

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        return await self.inner.get_klines(symbol, interval, limit, end_ms)


@asynccontextmanager
async def steered_stack(settings: Settings) -> AsyncIterator[tuple[Stack, SteeredFeed]]:
    async with full_stack(None, settings, worker=False) as st:
        feed = SteeredFeed(st.app.state.feed)
        st.app.state.feed = feed
        st.app.state.exchange.feed = feed
        engine = make_engine(settings.resolved_database_url)
        deps = default_deps(settings, make_sessionmaker(engine), st.client)
        deps.feed = feed
        deps.exchange.feed = feed
        async with running_workers(st.client, settings, deps) as runner:
            st.runner = runner
            yield st, feed
        await engine.dispose()
