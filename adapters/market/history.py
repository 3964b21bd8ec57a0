"""History from venues' public endpoints (no keys): candles and settled funding rates, one page
per call, for backfills.

Hyperliquid `POST /info` `candleSnapshot` (at most 5000 candles a reply) and `fundingHistory`
(500 rows); Binance USD-M `GET /fapi/v1/klines` (1500) and `GET /fapi/v1/fundingRate` (1000).
Called with httpx directly, not the SDKs: a backfill needs the reply's status and `Retry-After`
to back off as the venue asks, which the SDKs hide in their own exception types.

Politeness: one request at a time per venue and process, at least `min_interval_s` apart. A 429
raises RateLimited (the caller waits `retry_after_s`); another 4xx raises VenueRefused (retrying
would not help); 5xx and network errors raise VenueUnavailable (retrying may).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from domain.backfill import PAGE_ROWS, BackfillKind, FundingRate
from domain.market import Candle, Interval
from domain.vocabulary import Exchange, ExchangeEnvironment

DEFAULT_URLS = {
    (Exchange.HYPERLIQUID, ExchangeEnvironment.MAINNET): "https://api.hyperliquid.xyz",
    (Exchange.HYPERLIQUID, ExchangeEnvironment.TESTNET): "https://api.hyperliquid-testnet.xyz",
    (Exchange.BINANCE, ExchangeEnvironment.MAINNET): "https://fapi.binance.com",
    (Exchange.BINANCE, ExchangeEnvironment.TESTNET): "https://testnet.binancefuture.com",
}
QUOTE = "USDT"  # Binance pairs: BTC -> BTCUSDT, as the live feed and the exchange adapter name them


class RateLimited(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limited by the venue; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class VenueRefused(Exception):
    """A 4xx other than 429 (an unknown symbol, a bad range): the same request fails again."""


class VenueUnavailable(Exception):
    """5xx, a timeout, a dropped connection or a reply of the wrong shape."""


def _retry_after(r: httpx.Response) -> float:
    try:
        return min(max(float(r.headers.get("Retry-After", "1")), 0.5), 300.0)
    except ValueError:
        return 1.0


class HistoryClient:
    def __init__(
        self,
        urls: dict[Exchange, str | None] | None = None,
        min_interval_s: float = 0.25,
        timeout_s: float = 15.0,
    ) -> None:
        self.urls = {k: v for k, v in (urls or {}).items() if v}
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    def base_url(self, exchange: Exchange, environment: str) -> str:
        url = self.urls.get(exchange) or DEFAULT_URLS[(exchange, ExchangeEnvironment(environment))]
        return url.rstrip("/")

    async def _send(self, exchange: Exchange, request: httpx.Request) -> Any:
        lock = self._locks.setdefault(exchange, asyncio.Lock())
        async with lock:
            wait = self._last.get(exchange, 0.0) + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                    r = await http.send(request)
            except httpx.HTTPError as err:
                raise VenueUnavailable(f"{exchange}: {type(err).__name__}") from err
            finally:
                self._last[exchange] = time.monotonic()
        if r.status_code == 429:
            raise RateLimited(_retry_after(r))
        if 400 <= r.status_code < 500:
            raise VenueRefused(f"{exchange} answered {r.status_code}: {r.text[:200]}")
        if r.status_code >= 300:
            raise VenueUnavailable(f"{exchange} answered {r.status_code}")
        try:
            return r.json()
        except ValueError as err:
            raise VenueUnavailable(f"{exchange}: the reply is not JSON") from err

    async def candles(
        self,
        exchange: Exchange,
        environment: str,
        symbol: str,
        interval: Interval,
        cursor_ms: int,
        end_ms: int,
    ) -> tuple[list[Candle], int]:
        """Closed candles opening in [cursor, page end) and the page end (the next cursor)."""
        page_end = min(
            cursor_ms + PAGE_ROWS[(exchange, BackfillKind.CANDLES)] * interval.ms, end_ms
        )
        base = self.base_url(exchange, environment)
        if exchange == Exchange.HYPERLIQUID:
            req = {"coin": symbol, "interval": interval.value, "startTime": cursor_ms,
                   "endTime": page_end - 1}  # fmt: skip
            body = {"type": "candleSnapshot", "req": req}
            rows = await self._send(exchange, httpx.Request("POST", f"{base}/info", json=body))
            raw = _pick(rows, lambda r: (r["t"], r["o"], r["h"], r["l"], r["c"], r["v"]))
        else:
            params = {"symbol": f"{symbol}{QUOTE}", "interval": interval.value,
                      "startTime": cursor_ms, "endTime": page_end - 1,
                      "limit": PAGE_ROWS[(exchange, BackfillKind.CANDLES)]}  # fmt: skip
            url = f"{base}/fapi/v1/klines"
            rows = await self._send(exchange, httpx.Request("GET", url, params=params))
            raw = _pick(rows, lambda r: tuple(r[:6]))
        try:
            candles = [
                Candle(int(t), _d(o), _d(h), _d(lo), _d(c), _d(v)) for t, o, h, lo, c, v in raw
            ]
        except (ValueError, ArithmeticError, TypeError) as err:
            raise VenueUnavailable(f"{exchange}: a candle of the wrong shape") from err
        keep = [
            c
            for c in candles
            if cursor_ms <= c.open_time_ms < page_end and c.open_time_ms + interval.ms <= end_ms
        ]
        return sorted(keep, key=lambda c: c.open_time_ms), page_end

    async def funding(
        self, exchange: Exchange, environment: str, symbol: str, cursor_ms: int, end_ms: int
    ) -> tuple[list[FundingRate], int]:
        """Settled funding rates in [cursor, end) from the cursor on, and the next cursor."""
        limit = PAGE_ROWS[(exchange, BackfillKind.FUNDING)]
        base = self.base_url(exchange, environment)
        if exchange == Exchange.HYPERLIQUID:
            body = {"type": "fundingHistory", "coin": symbol, "startTime": cursor_ms,
                    "endTime": end_ms - 1}  # fmt: skip
            rows = await self._send(exchange, httpx.Request("POST", f"{base}/info", json=body))
            raw = _pick(rows, lambda r: (r["time"], r["fundingRate"], None))
        else:
            params: dict[str, str | int] = {"symbol": f"{symbol}{QUOTE}", "startTime": cursor_ms,
                      "endTime": end_ms - 1, "limit": limit}  # fmt: skip
            url = f"{base}/fapi/v1/fundingRate"
            rows = await self._send(exchange, httpx.Request("GET", url, params=params))
            raw = _pick(rows, lambda r: (r["fundingTime"], r["fundingRate"], r.get("markPrice")))
        try:
            rates = [
                FundingRate(
                    time_ms=int(t),
                    rate=str(_d(rate)),
                    mark_price=str(_d(mark)) if mark else None,
                )
                for t, rate, mark in raw
            ]
        except (ValueError, ArithmeticError, TypeError, KeyError) as err:
            raise VenueUnavailable(f"{exchange}: a funding row of the wrong shape") from err
        keep = sorted(
            (f for f in rates if cursor_ms <= f.time_ms < end_ms), key=lambda f: f.time_ms
        )
        # A full page may have more after it; a short one is the end of the range.
        next_cursor = keep[-1].time_ms + 1 if len(raw) >= limit and keep else end_ms
        return keep, next_cursor


def _d(value: Any) -> Decimal:
    d = Decimal(str(value))
    if not d.is_finite():
        raise ValueError("not a finite number")
    return d


def _pick(rows: Any, fields: Callable[[Any], tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each row's fields; a reply of another shape is the venue failing, not a crash."""
    if not isinstance(rows, list):
        raise VenueUnavailable("the reply is not a list")
    try:
        return [fields(r) for r in rows]
    except (KeyError, IndexError, TypeError) as err:
        raise VenueUnavailable("a row of the wrong shape") from err
