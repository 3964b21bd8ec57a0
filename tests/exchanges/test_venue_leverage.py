"""A live trader's max_leverage against its venue's own maximum per symbol (Hyperliquid's meta
`maxLeverage`, Binance's leverage brackets), on connecting the exchange and on every change of
max_leverage or the symbols after: above it is a 422 naming the symbol and the venue's limit; a
venue that cannot be reached is a 503, never a silent accept. Paper traders have no venue limit.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import eth_account
import httpx
import pytest
from temporalio.client import Client

from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as stack:
        yield stack


def _hyperliquid() -> tuple[HyperliquidEmulator, dict[str, str]]:
    emu = HyperliquidEmulator()  # BTC: 40x at most, ETH: 25x
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, "10000")
    emu.approve_agent(wallet.address, agent.address)
    return emu, {"wallet_address": wallet.address, "api_wallet_private_key": agent.key.hex()}


def _binance() -> tuple[BinanceEmulator, dict[str, str]]:
    emu = BinanceEmulator()
    emu.symbols["BTCUSDT"].max_leverage = 20
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    emu.add_account(key, secret, "10000")
    return emu, {"api_key": key, "api_secret": secret}


async def _connect(st: Stack, tid: int, url: str, keys: dict[str, str], env: str) -> httpx.Response:
    body = {"environment": env, "base_url": url, **keys}
    return await st.api.put(f"/api/account/{tid}/exchange", json=body)


async def test_hyperliquid_refuses_a_connection_above_the_venue_maximum(st: Stack) -> None:
    emu, keys = _hyperliquid()
    with serving(emu.app) as server:
        tid = (await st.create_trader(exchange="hyperliquid", symbols=["BTC", "ETH"],
                                      max_leverage="30"))["account_id"]  # fmt: skip
        r = await _connect(st, tid, server.url, keys, "testnet")
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "LEVERAGE_ABOVE_VENUE_MAX", body
        assert "ETH 25x" in body["error"] and "BTC" not in body["error"], body
        acct = (await st.api.get(f"/api/account/{tid}")).json()
        assert acct["exchange_connected"] is False  # nothing stored


async def test_hyperliquid_refuses_a_raise_above_the_venue_maximum(st: Stack) -> None:
    emu, keys = _hyperliquid()
    with serving(emu.app) as server:
        tid = (await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["account_id"]
        r = await _connect(st, tid, server.url, keys, "testnet")
        assert r.status_code == 200, r.text
        r = await st.api.put(f"/api/account/{tid}", json={"max_leverage": "45"})
        assert r.status_code == 422 and "BTC 40x" in r.json()["error"], r.text
        r = await st.api.put(f"/api/account/{tid}", json={"symbols": ["BTC", "DOGE"],
                                                          "max_leverage": "12"})  # fmt: skip
        assert r.status_code == 422 and "DOGE 10x" in r.json()["error"], r.text
        assert (await st.api.get(f"/api/account/{tid}")).json()["max_leverage"] == "5"
        r = await st.api.put(f"/api/account/{tid}", json={"max_leverage": "40"})
        assert r.status_code == 200 and r.json()["max_leverage"] == "40", r.text


async def test_binance_refuses_a_raise_above_its_leverage_brackets(st: Stack) -> None:
    emu, keys = _binance()
    with serving(emu.app) as server:
        tid = (await st.create_trader(exchange="binance", symbols=["BTC", "ETH"]))["account_id"]
        r = await _connect(st, tid, server.url, keys, "mainnet")
        assert r.status_code == 200, r.text
        r = await st.api.put(f"/api/account/{tid}", json={"max_leverage": "25"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "LEVERAGE_ABOVE_VENUE_MAX"
        assert "BTC 20x" in r.json()["error"] and "ETH" not in r.json()["error"], r.text


async def test_an_unreachable_venue_is_a_503_and_changes_nothing(st: Stack) -> None:
    emu, keys = _binance()
    with serving(emu.app) as server:
        tid = (await st.create_trader(exchange="binance", symbols=["BTC"]))["account_id"]
        r = await _connect(st, tid, server.url, keys, "mainnet")
        assert r.status_code == 200, r.text
    r = await st.api.put(f"/api/account/{tid}", json={"max_leverage": "10"})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "EXCHANGE_UNAVAILABLE" and "request_id" in r.json()
    assert (await st.api.get(f"/api/account/{tid}")).json()["max_leverage"] == "5"


async def test_paper_traders_have_no_venue_limit(st: Stack) -> None:
    t = await st.create_trader(max_leverage="100")
    r = await st.api.put(f"/api/account/{t['id']}", json={"max_leverage": "90"})
    assert r.status_code == 200 and r.json()["max_leverage"] == "90", r.text
