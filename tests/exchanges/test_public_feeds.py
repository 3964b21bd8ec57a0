"""Live public market data from each venue (over real HTTP to the emulators), and a paper
trader filling at those prices through the whole stack."""

from __future__ import annotations

import time
from decimal import Decimal

from temporalio.client import Client

from adapters.market.live import BinancePublicFeed, HyperliquidPublicFeed
from domain.market import Interval
from tests import programs
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import full_stack, make_settings


def _now_ms() -> int:
    return int(time.time() * 1000)


async def test_hyperliquid_public_feed() -> None:
    emu = HyperliquidEmulator()
    emu.set_mid("BTC", "70123.5")
    with serving(emu.app) as server:
        feed = HyperliquidPublicFeed(server.url, symbols=("BTC", "ETH"), timeout_s=5)
        assert await feed.get_price("BTC", _now_ms()) == Decimal("70123.5")
        end = _now_ms()
        candles = await feed.get_klines("BTC", Interval("1m"), 50, end)
        assert len(candles) == 50
        assert all(c.open_time_ms + 60_000 <= end for c in candles)  # closed only
        assert [c.open_time_ms for c in candles] == sorted(c.open_time_ms for c in candles)
        assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)


async def test_binance_public_feed() -> None:
    emu = BinanceEmulator()
    emu.set_mark("BTCUSDT", "70321.4")
    with serving(emu.app) as server:
        feed = BinancePublicFeed(server.url + "/fapi", symbols=("BTC",), timeout_s=5)
        assert await feed.get_price("BTC", _now_ms()) == Decimal("70321.4")
        end = _now_ms()
        candles = await feed.get_klines("BTC", Interval("5m"), 30, end)
        assert len(candles) == 30
        assert all(c.open_time_ms + 300_000 <= end for c in candles)


async def test_paper_trader_on_live_hyperliquid_prices(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    emu = HyperliquidEmulator()
    emu.set_mid("BTC", "80000")
    with serving(emu.app) as server:
        settings = make_settings(
            temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=server.url
        )
        async with full_stack(None, settings) as st:
            t = await st.create_trader(trading_enabled=True, symbols=["BTC"])
            await st.bind(t["account_id"], (await st.create_program(programs.ALWAYS_LONG))["id"])
            trigger = f"/api/account/{t['account_id']}/trigger"
            out = (await st.post(trigger, params={"include_snapshot": "true"})).json()
            assert out["status"] == "executed", out
            fill = Decimal(out["orders"][0]["avg_price"])
            assert fill == Decimal("80000") * (1 + Decimal("5") / 10000)  # mid + 5 bps slippage
            snap = out["record"]["input_snapshot"]
            assert snap["prices"]["BTC"] == "80000"
