"""A Hyperliquid trader on the emulator, for tests through the whole stack: the emulator with a
funded wallet and its approved agent key, and a trader connected to it."""

from __future__ import annotations

from dataclasses import dataclass

import eth_account
from eth_account.signers.local import LocalAccount

from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack


@dataclass
class HlVenue:
    emulator: HyperliquidEmulator
    wallet: LocalAccount
    agent: LocalAccount


def hyperliquid_venue(balance: str = "10000") -> HlVenue:
    emu = HyperliquidEmulator()
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emu.add_user(wallet.address, balance)
    emu.approve_agent(wallet.address, agent.address)
    return HlVenue(emu, wallet, agent)


async def connected_trader(st: Stack, venue: HlVenue, url: str, symbols: list[str]) -> int:
    """A Hyperliquid trader created through the API and connected to the emulator at `url`."""
    tid = int((await st.create_trader(exchange="hyperliquid", symbols=symbols))["account_id"])
    r = await st.api.put(
        f"/api/account/{tid}/exchange",
        json={"environment": "testnet", "wallet_address": venue.wallet.address,
              "base_url": url, "api_wallet_private_key": venue.agent.key.hex()},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return tid
