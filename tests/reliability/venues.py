"""Live traders on the venue emulators, and the venue-side truth the reliability tests compare
the platform's records with (orders per client id, positions, fills)."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import eth_account
from sqlalchemy import select

from db.models import OrderRecord, TradeRecord
from domain.exchange_rules import binance_client_order_id, hyperliquid_cloid
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack

# Long when flat, close when long: every decision places exactly one order (one leg).
TOGGLE = """
class Strategy:
    def should_trade(self, data):
        held = [p for p in data.get_positions() if p["symbol"] == "BTC"]
        if held:
            return Decision(operation="close", symbol="BTC", reasoning="flip to flat")
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2,
                        reasoning="flip to long")
"""

ALWAYS_LONG_SMALL = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2, reasoning="in")
"""


@dataclass
class Venues:
    hl: HyperliquidEmulator
    hl_url: str
    bn: BinanceEmulator
    bn_url: str


@dataclass
class LiveTrader:
    tid: int
    venue: str  # hyperliquid | binance
    user: str  # HL wallet address (lower case) or Binance API key
    secret: str = ""  # HL agent key / Binance API secret: lets a test trade "by hand"


async def connect_trader(
    st: Stack, v: Venues, venue: str, program_id: int, name: str = "t"
) -> LiveTrader:
    tid = (await st.create_trader(name=name, exchange=venue, symbols=["BTC"]))["account_id"]
    if venue == "hyperliquid":
        wallet, agent = eth_account.Account.create(), eth_account.Account.create()
        v.hl.add_user(wallet.address, "100000")
        v.hl.approve_agent(wallet.address, agent.address)
        body = {
            "environment": "testnet",
            "wallet_address": wallet.address,
            "base_url": v.hl_url,
            "api_wallet_private_key": agent.key.hex(),
        }
        user, secret = wallet.address.lower(), agent.key.hex()
    else:
        key, secret = secrets.token_hex(32), secrets.token_hex(32)
        v.bn.add_account(key, secret, "100000")
        body = {
            "environment": "mainnet",
            "base_url": v.bn_url,
            "api_key": key,
            "api_secret": secret,
        }
        user = key
    r = await st.api.put(f"/api/account/{tid}/exchange", json=body)
    assert r.status_code == 200, r.text
    await st.bind(tid, program_id)
    r = await st.post(f"/api/account/{tid}/start")
    assert r.status_code == 200, r.text
    return LiveTrader(tid, venue, user, secret)


def venue_orders(v: Venues, tr: LiveTrader) -> Counter[str]:
    """How many venue orders carry each venue client id (a duplicate shows as 2+)."""
    if tr.venue == "hyperliquid":
        return Counter(str(o.cloid) for o in v.hl.orders.values() if o.user == tr.user)
    return Counter(str(o.get("clientOrderId")) for o in v.bn.orders_for(tr.user))


def venue_id(tr: LiveTrader, client_order_id: str) -> str:
    if tr.venue == "hyperliquid":
        return hyperliquid_cloid(client_order_id)
    return binance_client_order_id(client_order_id)


def venue_position(v: Venues, tr: LiveTrader) -> Decimal:
    if tr.venue == "hyperliquid":
        pos = v.hl.position(tr.user, "BTC")
        return pos.szi if pos else Decimal(0)
    p = v.bn.accounts[tr.user].positions.get("BTCUSDT")
    return p.amt if p else Decimal(0)


def venue_fill_count(v: Venues, tr: LiveTrader) -> int:
    if tr.venue == "hyperliquid":
        return len(v.hl.users[tr.user].fills)
    return len(v.bn.accounts[tr.user].trades)


async def recorded(st: Stack, tid: int) -> tuple[list[OrderRecord], Decimal, int]:
    """(order rows, net position from recorded fills, number of recorded fills)."""
    async with st.deps.sessions() as s:
        orders = list(await s.scalars(select(OrderRecord).where(OrderRecord.account_id == tid)))
        trades = list(await s.scalars(select(TradeRecord).where(TradeRecord.account_id == tid)))
    net = sum((t.size if t.side == "buy" else -t.size for t in trades), Decimal(0))
    return orders, net, len(trades)


async def check_converged(st: Stack, v: Venues, tr: LiveTrader) -> int:
    """Zero duplicates, every venue order is one of ours, records equal the venue's truth.
    Returns the number of duplicate venue orders found (asserted to be zero)."""
    orders, net, n_fills = await recorded(st, tr.tid)
    at_venue = venue_orders(v, tr)
    duplicates = sum(n - 1 for n in at_venue.values() if n > 1)
    assert duplicates == 0, f"duplicate orders at the venue: {at_venue}"
    ours = {venue_id(tr, o.client_order_id): o for o in orders}
    assert set(at_venue) <= set(ours), (
        f"venue orders we did not intend: {set(at_venue) - set(ours)}"
    )
    for vid, order in ours.items():
        if order.status == "filled":
            assert at_venue[vid] == 1, f"{order.client_order_id} filled but not at the venue"
    assert net == venue_position(v, tr), (net, venue_position(v, tr))
    assert n_fills == venue_fill_count(v, tr), (n_fills, venue_fill_count(v, tr))
    return duplicates
