"""Symbols and market data at the API: an update is checked like a creation, and a market lookup
that fails is a clear error (422 for a symbol the source does not offer, 503 when the source is
unreachable), never a 500 or a dropped connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from temporalio.client import Client

from db.models import Account
from tests import programs
from tests.support.ports import free_port
from tests.support.stack import Stack, full_stack, make_settings


def assert_error(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["error"], body
    assert set(body) == {"error", "code", "request_id"}


async def _market_reads(st: Stack, tid: int) -> list[Any]:
    """Every route that looks the trader's symbols up in the market source."""
    code = programs.HOLD
    return [
        await st.api.get(f"/api/account/{tid}/positions"),
        await st.api.get(f"/api/account/{tid}/overview"),
        await st.post("/api/prompts/preview", {"account_id": tid, "content": "{market_prices}"}),
        await st.post("/api/programs/test-run", {"account_id": tid, "code": code}),
    ]


async def test_update_refuses_symbols_the_source_does_not_offer(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st:
        tid = (await st.create_trader(symbols=["BTC"]))["id"]
        r = await st.api.put(f"/api/account/{tid}", json={"symbols": ["BTC", "NOPE"]})
        assert_error(r, 422, "SYMBOL_NOT_SUPPORTED")
        assert "NOPE" in r.json()["error"]
        assert (await st.api.get(f"/api/account/{tid}")).json()["symbols"] == ["BTC"]
        for r in await _market_reads(st, tid):
            assert r.status_code == 200, r.text
        ok = await st.api.put(f"/api/account/{tid}", json={"symbols": ["eth", "BTC"]})
        assert ok.status_code == 200 and ok.json()["symbols"] == ["ETH", "BTC"], ok.text


async def test_a_stored_symbol_the_source_no_longer_offers_is_a_422(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """E.g. a trader created under another HYPERORU_MARKET_SOURCE: its reads say which symbol."""
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st:
        tid = (await st.create_trader(symbols=["BTC"]))["id"]
        async with st.deps.sessions() as s, s.begin():
            gone = update(Account).where(Account.id == tid).values(symbols=["BTC", "GONE"])
            await s.execute(gone)
        for r in await _market_reads(st, tid):
            assert_error(r, 422, "SYMBOL_NOT_SUPPORTED")
            assert "GONE" in r.json()["error"]


async def test_an_unreachable_market_source_is_a_503(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    dead_feed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every lookup fails
    settings = make_settings(
        temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=dead_feed
    )
    async with full_stack(None, settings, worker=False) as st:
        tid = (await st.create_trader(symbols=["BTC"]))["id"]
        calls = await _market_reads(st, tid)
        calls.append(await st.api.get("/api/klines/data", params={"symbol": "BTC"}))
        for r in calls:
            assert_error(r, 503, "MARKET_DATA_UNAVAILABLE")
