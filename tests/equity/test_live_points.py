"""Live traders' equity points, against the Hyperliquid emulator through the whole stack: a
filled order records the venue's account right after it; a stop-loss fill learnt at sync
records the account after that, in the sync's transaction; the periodic sample asks each venue
and a venue that is down skips its trader (logged) without costing the others their points."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import eth_account
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from adapters.equity import EquitySampler
from db.tables import EQUITY_SNAPSHOTS
from domain.equity import MONEY_EXPONENT
from tests import programs
from tests.emulators.exchange_common import ServerThread, serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
def venue() -> Iterator[tuple[HyperliquidEmulator, ServerThread]]:
    emu = HyperliquidEmulator()
    with serving(emu.app) as server:
        yield emu, server


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        stack.app.state.test_database_url = sqlite_url
        yield stack


async def _live_trader(st: Stack, emu: HyperliquidEmulator, url: str, **fields: Any) -> int:
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, "10000")
    emu.approve_agent(wallet.address, agent.address)
    tid = int((await st.create_trader(exchange="hyperliquid", symbols=["BTC"], **fields))["id"])
    body = {"environment": "testnet", "wallet_address": wallet.address, "base_url": url,
            "api_wallet_private_key": agent.key.hex()}  # fmt: skip
    r = await st.api.put(f"/api/account/{tid}/exchange", json=body)
    assert r.status_code == 200, r.text
    return tid


def _points(st: Stack, account_id: int) -> list[dict[str, Decimal]]:
    engine = create_engine(st.app.state.test_database_url)
    cols = ("cash", "unrealized_pnl", "equity", "margin_used")
    with Session(engine) as s:
        rows = s.execute(
            select(*(EQUITY_SNAPSHOTS.c[c] for c in cols))
            .where(EQUITY_SNAPSHOTS.c.account_id == account_id)
            .order_by(EQUITY_SNAPSHOTS.c.id)
        ).all()
    engine.dispose()
    return [dict(zip(cols, r, strict=True)) for r in rows]


async def _overview(st: Stack, tid: int) -> dict[str, Decimal]:
    """What /overview says, to the 10 decimals money is stored with."""
    o = (await st.api.get(f"/api/account/{tid}/overview")).json()
    fields = {"cash": "cash", "unrealized_pnl": "unrealized_pnl", "equity": "equity",
              "margin_used": "used_margin"}  # fmt: skip
    return {k: Decimal(o[f]).quantize(MONEY_EXPONENT) for k, f in fields.items()}


async def test_an_order_fill_and_a_stop_loss_learnt_at_sync_record_points(
    st: Stack, venue: tuple[HyperliquidEmulator, ServerThread]
) -> None:
    emu, server = venue
    tid = await _live_trader(st, emu, server.url)
    await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])  # SL at -50 %
    assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "executed", out
    (opened,) = _points(st, tid)
    assert opened == await _overview(st, tid) and opened["margin_used"] > 0
    emu.set_mid("BTC", emu.asset("BTC").mid / 3)  # the venue's stop-loss fires
    await st.app.state.exchange.live.sync(tid, {})  # what the trader's periodic sync does
    assert len(_points(st, tid)) == 2
    closed = _points(st, tid)[-1]
    assert closed == await _overview(st, tid)
    assert closed["margin_used"] == closed["unrealized_pnl"] == 0 and closed["equity"] < 10000
    await st.app.state.exchange.live.sync(tid, {})  # nothing new: no point
    assert len(_points(st, tid)) == 2


async def test_a_venue_down_skips_only_its_trader(
    st: Stack, venue: tuple[HyperliquidEmulator, ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    emu, server = venue
    up = await _live_trader(st, emu, server.url, trading_enabled=True)
    other = HyperliquidEmulator()
    with serving(other.app) as gone:
        down = await _live_trader(st, other, gone.url, trading_enabled=True)
    paper = (await st.create_trader(trading_enabled=True))["id"]
    sampler = EquitySampler(st.app.state.sessions, st.app.state.exchange, live_timeout_s=3)
    with caplog.at_level(logging.WARNING, logger="hyperoru.equity"):
        result = await sampler.sample()
    assert (result.sampled, result.skipped) == (2, 1)
    assert _points(st, up) == [await _overview(st, up)]
    assert _points(st, paper) == [await _overview(st, paper)]
    assert _points(st, down) == []
    assert f"equity of {down} not sampled: venue" in caplog.text


async def test_a_slow_venue_does_not_hold_the_pass_past_its_budget(
    st: Stack, venue: tuple[HyperliquidEmulator, ServerThread]
) -> None:
    emu, server = venue
    traders = [await _live_trader(st, emu, server.url, trading_enabled=True) for _ in range(2)]
    emu.faults.inject("delay_after", "clearinghouseState", delay_s=6)  # the first asked
    sampler = EquitySampler(
        st.app.state.sessions, st.app.state.exchange, live_timeout_s=10, live_budget_s=1.5
    )
    started = time.monotonic()
    result = await sampler.sample()
    assert time.monotonic() - started < 5
    assert (result.sampled, result.skipped) == (1, 1)
    assert sorted(len(_points(st, t)) for t in traders) == [0, 1]
