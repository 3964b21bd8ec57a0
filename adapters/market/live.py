"""Live public market data (no keys): Hyperliquid `/info` and Binance USD-M futures.

Selected with HYPERORU_MARKET_SOURCE; paper traders then fill at live prices. The SDKs are
synchronous, so every call runs in a thread under a timeout. Unreachable data raises: the
decision that needed it fails closed (no order), it is never invented.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from adapters.market.feed import UnknownSymbolError
from domain.market import Candle, Interval
from domain.vocabulary import MarketSource

T = TypeVar("T")
HL_MAINNET = "https://api.hyperliquid.xyz"
BINANCE_FUTURES = "https://fapi.binance.com/fapi"
DEFAULT_SYMBOLS = ("BTC", "ETH", "SOL", "ARB", "DOGE")


async def _call(fn: Callable[[], T], timeout_s: float) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn), timeout_s)


class HyperliquidPublicFeed:
    name = MarketSource.HYPERLIQUID.value  # plain text: it goes into messages and reprs

    def __init__(
        self,
        base_url: str | None = None,
        symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
        timeout_s: float = 10.0,
    ) -> None:
        from hyperliquid.info import Info

        # meta/spot_meta given, so construction does no network I/O.
        self._info = Info(
            base_url or HL_MAINNET,
            skip_ws=True,
            timeout=timeout_s,
            meta={"universe": []},
            spot_meta={"universe": [], "tokens": []},
        )
        self._symbols = list(symbols)
        self.timeout_s = timeout_s

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def _check(self, symbol: str) -> str:
        if symbol not in self._symbols:
            raise UnknownSymbolError(symbol, self.name)
        return symbol

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        coin = self._check(symbol)
        mids: Any = await _call(
            lambda: self._info.post("/info", {"type": "allMids"}), self.timeout_s
        )
        if not isinstance(mids, dict) or coin not in mids:
            raise UnknownSymbolError(symbol, self.name)
        return Decimal(str(mids[coin]))

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        coin = self._check(symbol)
        start = end_ms - (limit + 1) * interval.ms
        req = {
            "type": "candleSnapshot",
            "req": {
                "coin": coin,
                "interval": interval.value,
                "startTime": start,
                "endTime": end_ms,
            },
        }
        rows: Any = await _call(lambda: self._info.post("/info", req), self.timeout_s)
        candles = [
            Candle(
                int(r["t"]),
                Decimal(str(r["o"])),
                Decimal(str(r["h"])),
                Decimal(str(r["l"])),
                Decimal(str(r["c"])),
                Decimal(str(r["v"])),
            )
            for r in rows
            if int(r["t"]) + interval.ms <= end_ms  # closed candles only
        ]
        return sorted(candles, key=lambda c: c.open_time_ms)[-limit:]


class BinancePublicFeed:
    name = MarketSource.BINANCE.value  # plain text: it goes into messages and reprs

    def __init__(
        self,
        base_url: str | None = None,
        symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
        timeout_s: float = 10.0,
        quote: str = "USDT",
    ) -> None:
        from binance.client import Client

        self._client = Client(None, None, ping=False)  # public endpoints only: no key
        self._client.FUTURES_URL = base_url or BINANCE_FUTURES
        self._client.REQUEST_TIMEOUT = timeout_s  # type: ignore[attr-defined]
        self._symbols = list(symbols)
        self.quote = quote
        self.timeout_s = timeout_s

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def _pair(self, symbol: str) -> str:
        if symbol not in self._symbols:
            raise UnknownSymbolError(symbol, self.name)
        return f"{symbol}{self.quote}"

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        pair = self._pair(symbol)
        r: Any = await _call(lambda: self._client.futures_mark_price(symbol=pair), self.timeout_s)
        return Decimal(str(r["markPrice"]))

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        pair = self._pair(symbol)
        rows: Any = await _call(
            lambda: self._client.futures_klines(
                symbol=pair, interval=interval.value, limit=min(limit + 1, 1500), endTime=end_ms
            ),
            self.timeout_s,
        )
        candles = [
            Candle(
                int(r[0]),
                Decimal(str(r[1])),
                Decimal(str(r[2])),
                Decimal(str(r[3])),
                Decimal(str(r[4])),
                Decimal(str(r[5])),
            )
            for r in rows
            if int(r[6]) < end_ms  # closed candles only
        ]
        return candles[-limit:]
