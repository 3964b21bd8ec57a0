"""oi_change reads the open interest earlier decisions saw: a live trader's decision records the
venue's current open interest (open_interest_samples) and a later one gets those samples back,
its own current value last. Why: before, the snapshot never carried an open-interest history, so
the factor was always None."""

from __future__ import annotations

import math
from decimal import Decimal

import eth_account
from sqlalchemy import update
from temporalio.client import Client

from db.factor_history import MINUTE_MS, OpenInterestSample
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.factors.support import decide, report
from tests.support.stack import Stack, full_stack, make_settings


async def connect_hyperliquid(st: Stack, emu: HyperliquidEmulator, url: str) -> int:
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, "10000")
    emu.approve_agent(wallet.address, agent.address)
    tid = int((await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["account_id"])
    body = {
        "environment": "testnet",
        "wallet_address": wallet.address,
        "base_url": url,
        "api_wallet_private_key": agent.key.hex(),
    }
    r = await st.api.put(f"/api/account/{tid}/exchange", json=body)
    assert r.status_code == 200, r.text
    return tid


async def a_minute_passes(st: Stack) -> None:
    """The samples recorded so far move a minute back, as if the next decision came later
    (one sample per minute: a decision in the same minute would not add one)."""
    async with st.deps.sessions() as s, s.begin():
        await s.execute(
            update(OpenInterestSample).values(time_ms=OpenInterestSample.time_ms - MINUTE_MS)
        )


async def test_oi_change_is_computed_on_the_samples_of_earlier_decisions(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    emu = HyperliquidEmulator()
    emu.set_mid("BTC", "80000")
    emu.asset("BTC").open_interest = Decimal("1000")
    with serving(emu.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            tid = await connect_hyperliquid(st, emu, server.url)
            await st.bind(tid, (await st.create_program(report("oi_change", 1)))["id"])
            assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
            first, _ = await decide(st, tid)
            await a_minute_passes(st)
            emu.asset("BTC").open_interest = Decimal("1100")
            second, snap = await decide(st, tid)
    assert first is None  # no sample recorded before it: no history yet
    assert [float(x) for x in snap["open_interest_history"]["BTC"]] == [1000.0, 1100.0]
    assert math.isclose(second, 0.1, rel_tol=1e-12), second
