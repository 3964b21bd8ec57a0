"""The product's venue routes through the Hyperliquid and Binance emulators (real SDKs over real
HTTP): /api/{venue}/accounts/{id}/positions answers the venue's positions with their totals,
/api/{venue}/account/{id}/state its balances, stored as a snapshot for the trader's exchange and
environment; the worker's account syncs store one too. A trader on another exchange is a 409."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import eth_account
import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.account_snapshots import AccountSnapshot
from tests import programs
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
def hl_url() -> Iterator[tuple[HyperliquidEmulator, str]]:
    emu = HyperliquidEmulator()
    with serving(emu.app) as server:
        yield emu, server.url


@pytest.fixture
def bn_url() -> Iterator[tuple[BinanceEmulator, str]]:
    emu = BinanceEmulator()
    with serving(emu.app) as server:
        yield emu, server.url


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def _hyperliquid(st: Stack, venue: tuple[HyperliquidEmulator, str]) -> int:
    emu, url = venue
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, "10000")
    emu.approve_agent(wallet.address, agent.address)
    tid = int((await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["id"])
    r = await st.api.put(f"/api/account/{tid}/exchange", json={
        "environment": "testnet", "wallet_address": wallet.address, "base_url": url,
        "api_wallet_private_key": agent.key.hex()})  # fmt: skip
    assert r.status_code == 200, r.text
    return tid


async def _binance(st: Stack, venue: tuple[BinanceEmulator, str]) -> int:
    emu, url = venue
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    emu.add_account(key, secret, "10000")
    tid = int((await st.create_trader(exchange="binance", symbols=["BTC"]))["id"])
    r = await st.api.put(
        f"/api/account/{tid}/exchange",
        json={"environment": "mainnet", "base_url": url, "api_key": key, "api_secret": secret},
    )
    assert r.status_code == 200, r.text
    return tid


async def _open_long(st: Stack, tid: int) -> None:
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"


async def _snapshots(st: Stack, tid: int) -> list[AccountSnapshot]:
    async with st.app.state.sessions() as s:
        query = select(AccountSnapshot).where(AccountSnapshot.account_id == tid)
        return list(await s.scalars(query.order_by(AccountSnapshot.id)))


async def _check_positions(st: Stack, tid: int, venue: str) -> None:
    positions = await st.api.get(f"/api/{venue}/accounts/{tid}/positions")
    assert positions.status_code == 200, positions.text
    got = positions.json()
    (pos,) = got["positions"]
    assert (pos["symbol"], pos["side"], got["total_count"]) == ("BTC", "long", 1)
    assert {"entry_price", "leverage", "liquidation_price", "mark_price", "size",
            "unrealized_pnl"} <= set(pos)  # fmt: skip
    assert Decimal(got["total_unrealized_pnl"]) == Decimal(pos["unrealized_pnl"])
    ours = (await st.api.get(f"/api/account/{tid}/positions")).json()
    assert [(p["symbol"], p["size"]) for p in ours["positions"]] == [("BTC", pos["size"])]


async def _check_state(st: Stack, tid: int, venue: str, environment: str) -> None:
    """The venue's balances, as /overview shows them, and the snapshot stored."""
    before = len(await _snapshots(st, tid))
    state = await st.api.get(f"/api/{venue}/account/{tid}/state")
    assert state.status_code == 200, state.text
    s: dict[str, Any] = state.json()
    assert (s["account_id"], s["exchange"], s["environment"]) == (tid, venue, environment)
    overview = (await st.api.get(f"/api/account/{tid}/overview")).json()
    assert Decimal(s["balance_total"]) == Decimal(overview["equity"])
    assert Decimal(s["balance_available"]) == Decimal(overview["available"])
    assert Decimal(s["margin_used"]) == Decimal(overview["used_margin"]) > 0
    stored = await _snapshots(st, tid)
    assert len(stored) == before + 1 and stored[-1].id == s["id"]
    assert (stored[-1].exchange, stored[-1].environment) == (venue, environment)
    assert stored[-1].balance_total == Decimal(s["balance_total"])


async def test_hyperliquid_positions_with_their_totals(
    st: Stack, hl_url: tuple[HyperliquidEmulator, str]
) -> None:
    tid = await _hyperliquid(st, hl_url)
    await _open_long(st, tid)
    await _check_positions(st, tid, "hyperliquid")


async def test_hyperliquid_state_is_stored_as_a_snapshot(
    st: Stack, hl_url: tuple[HyperliquidEmulator, str]
) -> None:
    tid = await _hyperliquid(st, hl_url)
    await _open_long(st, tid)
    await _check_state(st, tid, "hyperliquid", "testnet")


async def test_binance_positions_with_their_totals(
    st: Stack, bn_url: tuple[BinanceEmulator, str]
) -> None:
    tid = await _binance(st, bn_url)
    await _open_long(st, tid)
    await _check_positions(st, tid, "binance")


async def test_binance_state_is_stored_as_a_snapshot(
    st: Stack, bn_url: tuple[BinanceEmulator, str]
) -> None:
    tid = await _binance(st, bn_url)
    await _open_long(st, tid)
    await _check_state(st, tid, "binance", "mainnet")


async def test_the_workers_account_sync_stores_a_snapshot(
    st: Stack, hl_url: tuple[HyperliquidEmulator, str]
) -> None:
    """A trader syncs its account when it starts: no state read through the API needed."""
    tid = await _hyperliquid(st, hl_url)
    assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
    for _ in range(200):
        stored = await _snapshots(st, tid)
        if stored:
            break
        await asyncio.sleep(0.05)
    assert stored, "no snapshot after the start's sync"
    assert (stored[0].exchange, stored[0].environment) == ("hyperliquid", "testnet")
    assert stored[0].balance_total == Decimal(10000)


async def test_a_trader_on_another_exchange_is_a_409(
    st: Stack, hl_url: tuple[HyperliquidEmulator, str]
) -> None:
    paper = (await st.create_trader())["id"]
    live = await _hyperliquid(st, hl_url)
    unconnected = (await st.create_trader(exchange="binance", symbols=["BTC"]))["id"]
    cases = [
        (f"/api/hyperliquid/accounts/{paper}/positions", "EXCHANGE_MISMATCH"),
        (f"/api/hyperliquid/account/{paper}/state", "EXCHANGE_MISMATCH"),
        (f"/api/binance/accounts/{live}/positions", "EXCHANGE_MISMATCH"),
        (f"/api/binance/account/{live}/state", "EXCHANGE_MISMATCH"),
        (f"/api/binance/accounts/{unconnected}/positions", "EXCHANGE_NOT_CONNECTED"),
        (f"/api/binance/account/{unconnected}/state", "EXCHANGE_NOT_CONNECTED"),
    ]
    for url, code in cases:
        r = await st.api.get(url)
        assert r.status_code == 409 and r.json()["code"] == code, (url, r.text)
    assert await _snapshots(st, paper) == [] and await _snapshots(st, unconnected) == []


async def test_another_users_trader_is_a_missing_one(
    st: Stack, hl_url: tuple[HyperliquidEmulator, str]
) -> None:
    tid = await _hyperliquid(st, hl_url)
    async with st.user_client("b@example.com") as b:
        for url in (f"/api/hyperliquid/accounts/{tid}/positions",
                    f"/api/hyperliquid/account/{tid}/state"):  # fmt: skip
            r = await b.get(url)
            assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
