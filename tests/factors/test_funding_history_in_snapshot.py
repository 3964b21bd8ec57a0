"""A program's funding_zscore is computed on the funding rates stored in funding_rates (by a
backfill or the refresh job) for the trader's market source, settled on or before the decision
time. Why: before, the snapshot never carried a funding history, so the factor was always None;
and a rate settled after the decision would be a look into the future."""

from __future__ import annotations

import json
import math
import time

from temporalio.client import Client

from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.factors.support import decide, report, store_rates, zscore
from tests.support.stack import full_stack, make_settings

HOUR = 3_600_000
PERIOD = 5


async def test_funding_zscore_reads_the_stored_rates_up_to_the_decision_time(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    emu = HyperliquidEmulator()
    emu.set_mid("BTC", "80000")
    now = int(time.time() * 1000)
    past = {now - (12 - i) * HOUR: f"0.0000{i + 1}{i % 3}" for i in range(12)}
    later = {now + HOUR: "0.05"}  # settled after the decision: never seen by it
    other = {now - HOUR // 2: "0.9"}  # another source's rate: not this trader's market
    with serving(emu.app) as server:
        settings = make_settings(
            temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=server.url
        )
        async with full_stack(None, settings) as st:
            await store_rates(st, "hyperliquid", past | later)
            await store_rates(st, "binance", other)
            t = await st.create_trader(trading_enabled=True, symbols=["BTC"])
            tid = t["account_id"]
            await st.bind(tid, (await st.create_program(report("funding_zscore", PERIOD)))["id"])
            value, snap = await decide(st, tid)
    rates = [float(r) for r in past.values()]
    assert [float(r) for r in snap["funding_history"]["BTC"]] == rates
    assert math.isclose(value, zscore(rates[-1 - PERIOD :]), rel_tol=1e-12), value


async def test_a_dry_run_reads_the_same_funding_history(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """POST /api/programs/test-run shows what a decision now would decide: on the same rates."""
    emu = HyperliquidEmulator()
    emu.set_mid("BTC", "80000")
    now = int(time.time() * 1000)
    past = {now - (8 - i) * HOUR: f"0.000{i % 4 + 1}" for i in range(8)}
    with serving(emu.app) as server:
        settings = make_settings(
            temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=server.url
        )
        async with full_stack(None, settings, worker=False) as st:
            await store_rates(st, "hyperliquid", past | {now + HOUR: "0.05"})
            tid = (await st.create_trader(symbols=["BTC"]))["account_id"]
            body = {"account_id": tid, "code": report("funding_zscore", PERIOD)}
            r = await st.post("/api/programs/test-run", body)
    assert r.status_code == 200, r.text
    value = json.loads(r.json()["decision"]["reasoning"])["value"]
    rates = [float(x) for x in past.values()]
    assert math.isclose(value, zscore(rates[-1 - PERIOD :]), rel_tol=1e-12), value
