"""GET /api/crypto/price: the configured market source's price now, for one symbol or several at
once; a symbol the source does not offer is a 404 naming it, a source that does not answer a 503
in the error envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest
from temporalio.client import Client

from tests.support.ports import free_port
from tests.support.stack import Stack, full_stack, make_settings

URL = "/api/crypto/price"


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def _source_price(st: Stack, symbol: str, time: str) -> Decimal:
    """What the simulated source says at that millisecond (a pure function of the time)."""
    at = int(datetime.fromisoformat(time).timestamp() * 1000)
    return await st.app.state.feed.get_price(symbol, at)


async def test_one_symbol(st: Stack) -> None:
    r = await st.api.get(URL, params={"symbol": "btc"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {"symbol", "price", "source", "time"}
    assert (got["symbol"], got["source"]) == ("BTC", "simulated")
    assert Decimal(got["price"]) == await _source_price(st, "BTC", got["time"])


async def test_several_symbols_at_once_in_the_order_asked(st: Stack) -> None:
    comma = (await st.api.get(URL, params={"symbols": "ETH, BTC,ETH"})).json()
    repeated = (await st.api.get(URL, params=[("symbol", "ETH"), ("symbol", "BTC")])).json()
    for got in (comma, repeated):
        assert [p["symbol"] for p in got["prices"]] == ["ETH", "BTC"], got
        for p in got["prices"]:
            assert Decimal(p["price"]) == await _source_price(st, p["symbol"], got["time"])


async def test_an_unknown_symbol_is_a_404_naming_it(st: Stack) -> None:
    r = await st.api.get(URL, params={"symbols": "BTC,NOPE"})
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "SYMBOL_NOT_FOUND" and "NOPE" in r.json()["error"]


async def test_no_symbol_is_a_422(st: Stack) -> None:
    for params in ({}, {"symbol": " "}, {"symbols": ","}):
        r = await st.api.get(URL, params=params)
        assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text
        assert "symbol" in r.json()["error"]


async def test_a_source_that_does_not_answer_is_a_503(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every lookup fails
    settings = make_settings(
        temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=dead
    )
    async with full_stack(None, settings, worker=False) as st:
        r = await st.api.get(URL, params={"symbol": "BTC"})
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) == {"error", "code", "request_id"}
    assert body["code"] == "MARKET_DATA_UNAVAILABLE"
