"""Live traders end to end: connect -> decision -> leverage -> entry -> TP/SL -> position ->
close, through the whole stack and the official SDKs, against the venue emulators."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import eth_account
from temporalio.client import Client

from domain.exchange_rules import binance_client_order_id, hyperliquid_cloid
from tests import programs
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack, full_stack, make_settings

LONG_BTC = programs.ALWAYS_LONG  # long 200 USD at 2x, TP 50 %, SL 50 %


async def _run_flow(st: Stack, tid: int) -> tuple[dict, dict]:
    long_prog = await st.create_program(LONG_BTC, "long")
    b = await st.bind(tid, long_prog["id"])
    r = await st.post(f"/api/account/{tid}/start")
    assert r.status_code == 200, r.text
    opened = (
        await st.post(f"/api/account/{tid}/trigger", params={"include_snapshot": "true"})
    ).json()
    await st.api.delete(f"/api/account/{tid}/bindings/{b['id']}")
    await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    positions = (await st.api.get(f"/api/account/{tid}/positions")).json()
    resting = (await st.api.get(f"/api/account/{tid}/open-orders")).json()["orders"]
    coid = opened["orders"][0]["client_order_id"]
    other = await st.post(f"/api/account/{tid}/orders/ho-999-1-entry:tp/cancel")
    # not this trader's order: refused before it reaches the workflow or the venue
    assert other.status_code == 404, other.text
    assert other.json()["code"] == "ORDER_NOT_FOUND"
    cancelled = (
        await st.post(f"/api/account/{tid}/orders/{coid}:tp/cancel", params={"symbol": "BTC"})
    ).json()
    assert cancelled["cancelled"] is True, cancelled
    left = (await st.api.get(f"/api/account/{tid}/open-orders")).json()["orders"]
    assert len(left) == 1  # only the stop-loss still rests
    rows = {
        o["client_order_id"]: o["status"]
        for o in (await st.api.get(f"/api/account/{tid}/orders")).json()["items"]
    }
    assert rows[f"{coid}:tp"] == "cancelled" and rows[f"{coid}:sl"] == "submitted"
    closed = (await st.post(f"/api/account/{tid}/trigger")).json()
    return {"opened": opened, "positions": positions, "resting": resting}, closed


async def test_hyperliquid_trader(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    emu = HyperliquidEmulator()
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    stranger = eth_account.Account.create()
    emu.add_user(wallet.address, "10000")
    emu.approve_agent(wallet.address, agent.address)
    with serving(emu.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            t = await st.create_trader(exchange="hyperliquid", symbols=["BTC"])
            tid = t["account_id"]
            body = {
                "environment": "testnet",
                "wallet_address": wallet.address,
                "base_url": server.url,
            }
            r = await st.api.put(
                f"/api/account/{tid}/exchange",
                json={**body, "api_wallet_private_key": stranger.key.hex()},
            )
            assert r.status_code == 422, r.text  # not an agent of this wallet
            r = await st.api.put(
                f"/api/account/{tid}/exchange",
                json={**body, "api_wallet_private_key": agent.key.hex()},
            )
            assert r.status_code == 200, r.text
            assert r.json()["exchange_connected"] is True
            assert agent.key.hex() not in r.text and agent.key.hex()[2:] not in r.text

            first, closed = await _run_flow(st, tid)
            opened = first["opened"]
            assert opened["status"] == "executed", opened
            snap = opened["record"]["input_snapshot"]
            assert "BTC" in snap["funding"] and "BTC" in snap["open_interest"]  # from the venue
            entry = opened["orders"][0]
            assert entry["status"] == "filled"
            mine = [o for o in emu.orders.values() if o.user == wallet.address.lower()]
            entry_at_venue = [
                o for o in mine if o.cloid == hyperliquid_cloid(entry["client_order_id"])
            ]
            assert len(entry_at_venue) == 1 and entry_at_venue[0].is_buy
            assert {o.tpsl for o in mine if o.tpsl} == {"tp", "sl"}  # exchange-side triggers
            (pos,) = first["positions"]["positions"]
            assert pos["symbol"] == "BTC" and pos["side"] == "long" and pos["leverage"] == "2"
            # null when cross margin keeps it out of reach, as on the real venue
            assert "liquidation_price" in pos and pos["mark_price"]
            assert len(first["resting"]) == 2  # the TP and SL triggers rest at the venue
            assert closed["status"] == "executed", closed
            assert closed["orders"][0]["status"] == "filled"
            assert (await st.api.get(f"/api/account/{tid}/positions")).json()["total_count"] == 0
            trades = (await st.api.get(f"/api/account/{tid}/trades")).json()
            assert trades["total"] == 2  # the venue's fills, each recorded once
            # The agent key is nowhere in clear: database, history.
            history = json.dumps(
                (
                    await st.client.get_workflow_handle(f"trader-{tid}").fetch_history()
                ).to_json_dict()
            )
            assert agent.key.hex()[2:] not in history
            db = Path(st.settings.resolved_database_url.split("///", 1)[1])
            for f in db.parent.iterdir():
                assert agent.key.hex()[2:].encode() not in f.read_bytes()


async def test_binance_trader(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    emu = BinanceEmulator()
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    risky_key, risky_secret = secrets.token_hex(32), secrets.token_hex(32)
    emu.add_account(key, secret, "10000")
    emu.add_account(risky_key, risky_secret, "10000", can_withdraw=True)
    with serving(emu.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            t = await st.create_trader(exchange="binance", symbols=["BTC"])
            tid = t["account_id"]
            base = {"environment": "mainnet", "base_url": server.url}
            r = await st.api.put(
                f"/api/account/{tid}/exchange",
                json={**base, "api_key": risky_key, "api_secret": risky_secret},
            )
            assert r.status_code == 422 and "withdraw" in r.text.lower(), r.text
            r = await st.api.put(
                f"/api/account/{tid}/exchange", json={**base, "api_key": key, "api_secret": secret}
            )
            assert r.status_code == 200, r.text
            assert secret not in r.text and r.json()["exchange_key_hint"].endswith(key[-4:])

            first, closed = await _run_flow(st, tid)
            opened = first["opened"]
            assert opened["status"] == "executed", opened
            coid = opened["orders"][0]["client_order_id"]
            at_venue = [
                o
                for o in emu.orders.values()
                if o.get("clientOrderId") == binance_client_order_id(coid)
            ]
            assert len(at_venue) == 1
            (pos,) = first["positions"]["positions"]
            assert pos["side"] == "long" and pos["symbol"] == "BTC"
            assert len(first["resting"]) == 2
            assert closed["status"] == "executed", closed
            assert (await st.api.get(f"/api/account/{tid}/positions")).json()["total_count"] == 0


async def test_a_live_traders_feed_follows_its_symbols_after_an_update(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st:
        tid = int((await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["account_id"])
        assert (await st.deps.exchange.feed_for(tid)).symbols() == ["BTC"]
        r = await st.api.put(f"/api/account/{tid}", json={"symbols": ["BTC", "ETH"]})
        assert r.status_code == 200, r.text
        # The worker's router read the symbols once and kept them before (a live trader's
        # venue feed then asked for the old symbols until the worker restarted).
        assert (await st.deps.exchange.feed_for(tid)).symbols() == ["BTC", "ETH"]
