"""Market data as the API reads it: a failed lookup is a clear error, never a 500.

A symbol the market source does not offer is the caller's input (422 SYMBOL_NOT_SUPPORTED,
naming it); a source that cannot answer (unreachable, timed out, a malformed reply) is a 503
MARKET_DATA_UNAVAILABLE, like a decision that fails closed for the same reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from decimal import Decimal
from typing import TypeVar

from fastapi import Request
from starlette.requests import HTTPConnection

from adapters.exchanges.client import ExchangeError
from adapters.market.feed import MarketFeed, UnknownSymbolError
from api.errors import ApiError
from domain.market import Candle, Interval
from domain.vocabulary import Exchange

log = logging.getLogger("hyperoru.api")
T = TypeVar("T")


def unsupported(symbols: Iterable[str]) -> ApiError:
    listed = ", ".join(symbols)
    return ApiError(422, "SYMBOL_NOT_SUPPORTED", f"Unknown symbols: {listed}")


def check_symbols(feed: MarketFeed, exchange: str, symbols: list[str]) -> None:
    """Paper traders trade what the market source offers (live venues list their own)."""
    if exchange != Exchange.PAPER:
        return
    known = set(feed.symbols())
    unknown = [sym for sym in symbols if sym not in known]
    if unknown:
        raise unsupported(unknown)


async def _guard(call: Awaitable[T], feed: str) -> T:
    try:
        return await call
    except UnknownSymbolError as err:
        raise unsupported([err.symbol]) from err
    except (ApiError, ExchangeError):
        raise  # already an answer (a venue's own error has its handler)
    except Exception as err:
        # Why every other error: what a source raises when it fails is open-ended (timeouts,
        # connection errors, each SDK's own exceptions, a reply of the wrong shape).
        log.warning("market source %r failed: %s: %s", feed, type(err).__name__, err)
        raise ApiError(
            503, "MARKET_DATA_UNAVAILABLE", "Market data is unavailable, try again later"
        ) from err


class GuardedFeed:
    """A MarketFeed whose failures are API errors."""

    def __init__(self, feed: MarketFeed) -> None:
        self._feed = feed
        self.name = feed.name

    def symbols(self) -> list[str]:
        return self._feed.symbols()

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        return await _guard(self._feed.get_price(symbol, at_ms), self.name)

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        return await _guard(self._feed.get_klines(symbol, interval, limit, end_ms), self.name)


async def feed_for(request: HTTPConnection, account_id: int) -> GuardedFeed:
    """The feed a trader's prices come from (the market source, or its live venue)."""
    return GuardedFeed(await request.app.state.exchange.feed_for(account_id))


def market_feed(request: Request) -> GuardedFeed:
    """The market source itself (what /api/klines serves)."""
    return GuardedFeed(request.app.state.feed)
