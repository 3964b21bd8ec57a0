"""The MarketFeed interface: where prices and candles come from (simulated now, live later)."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from domain.market import Candle, Interval


class UnknownSymbolError(ValueError):
    """The feed does not know this symbol."""

    def __init__(self, symbol: str, feed: str = "") -> None:
        self.symbol = symbol
        where = f" on feed {feed!r}" if feed else ""
        super().__init__(f"unknown symbol {symbol!r}{where}")


@runtime_checkable
class MarketFeed(Protocol):
    """Market data source. Times are supplied by the caller; a feed never reads the clock."""

    name: str

    def symbols(self) -> list[str]:
        """Tradable symbols, e.g. ["BTC", "ETH"]."""
        ...

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        """Mark price at (or as of) epoch milliseconds `at_ms`."""
        ...

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        """The last `limit` closed candles ending at or before `end_ms`, oldest first."""
        ...
