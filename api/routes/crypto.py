"""GET /api/crypto/price: current prices from the configured market source
(HYPERORU_MARKET_SOURCE, the one /api/klines serves), one symbol or several at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from adapters.market.snapshot import now_ms
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.market import market_feed
from api.money import MoneyOut
from api.schemas import UtcDateTime

router = APIRouter(prefix="/api/crypto", tags=["market"], route_class=ExactNumbersRoute)
MAX_SYMBOLS = 50


class SymbolPrice(BaseModel):
    symbol: str
    price: MoneyOut


class PriceOut(SymbolPrice):
    source: str  # the market source's name (simulated, hyperliquid, binance)
    time: UtcDateTime


class PricesOut(BaseModel):
    source: str
    time: UtcDateTime
    prices: list[SymbolPrice]


def _wanted(symbol: list[str], symbols: str | None) -> list[str]:
    """Each symbol once, in the order given, upper-cased: repeated `symbol` and the
    comma-separated `symbols` together."""
    given = [*symbol, *(symbols.split(",") if symbols else [])]
    out: list[str] = []
    for raw in given:
        for part in raw.split(","):
            name = part.strip().upper()
            if name and name not in out:
                out.append(name)
    if not out:
        raise ApiError(
            422, "VALIDATION_ERROR", "symbol: give symbol=BTC, or several: symbols=BTC,ETH"
        )
    if len(out) > MAX_SYMBOLS:
        raise ApiError(422, "VALIDATION_ERROR", f"symbols: at most {MAX_SYMBOLS} at once")
    return out


@router.get("/price", response_model=PriceOut | PricesOut)
async def price(
    request: Request,
    symbol: Annotated[list[str], Query()] = [],  # noqa: B006
    symbols: Annotated[str | None, Query(max_length=2000)] = None,
) -> PriceOut | PricesOut:
    """The market source's price now. One `symbol`: `{"symbol", "price", "source", "time"}`.
    Several (`symbols=BTC,ETH`, or `symbol` repeated): `{"source", "time", "prices": [{"symbol",
    "price"}]}` in the order asked. A symbol the source does not offer: 404 SYMBOL_NOT_FOUND
    naming it; the source not answering: 503 MARKET_DATA_UNAVAILABLE."""
    names = _wanted(symbol, symbols)
    feed = market_feed(request)
    offered = set(feed.symbols())
    unknown = [n for n in names if n not in offered]
    if unknown:
        raise ApiError(404, "SYMBOL_NOT_FOUND", f"Unknown symbols: {', '.join(unknown)}")
    at = now_ms()
    got = await asyncio.gather(*(feed.get_price(n, at) for n in names))
    when = datetime.fromtimestamp(at / 1000, UTC)
    if symbols is None and len(symbol) == 1 and len(names) == 1:
        return PriceOut(symbol=names[0], price=got[0], source=feed.name, time=when)
    return PricesOut(
        source=feed.name,
        time=when,
        prices=[SymbolPrice(symbol=n, price=p) for n, p in zip(names, got, strict=True)],
    )
