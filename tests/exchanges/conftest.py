"""Fixtures: a fresh Hyperliquid / Binance emulator per test, on real 127.0.0.1 ports."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import eth_account
import pytest
import pytest_asyncio
from eth_account.signers.local import LocalAccount

from adapters.exchanges.binance import BinanceFuturesClient
from adapters.exchanges.hyperliquid import HyperliquidClient
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import ServerThread, serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator

CLIENT_TIMEOUT_S = 1.0  # small, so "delay past the client timeout" tests stay fast


@dataclass
class HlSetup:
    emulator: HyperliquidEmulator
    server: ServerThread
    wallet: LocalAccount
    agent: LocalAccount

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, agent: LocalAccount | None = None, **kw: object) -> HyperliquidClient:
        key = (agent or self.agent).key.hex()
        return HyperliquidClient(
            self.wallet.address,
            key,
            "testnet",
            base_url=self.url,
            timeout_s=kw.pop("timeout_s", CLIENT_TIMEOUT_S),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )


@dataclass
class BnSetup:
    emulator: BinanceEmulator
    server: ServerThread
    api_key: str
    api_secret: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(
        self, api_key: str | None = None, api_secret: str | None = None, **kw: object
    ) -> BinanceFuturesClient:
        return BinanceFuturesClient(
            api_key or self.api_key,
            api_secret or self.api_secret,
            "mainnet",
            base_url=self.url,
            timeout_s=kw.pop("timeout_s", CLIENT_TIMEOUT_S),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
def hl() -> Iterator[HlSetup]:
    emulator = HyperliquidEmulator()
    wallet = eth_account.Account.create()
    agent = eth_account.Account.create()
    emulator.add_user(wallet.address, "10000")
    emulator.approve_agent(wallet.address, agent.address)
    with serving(emulator.app) as server:
        yield HlSetup(emulator, server, wallet, agent)


@pytest_asyncio.fixture
async def hl_client(hl: HlSetup) -> AsyncIterator[HyperliquidClient]:
    client = hl.client()
    yield client
    await client.close()


@pytest.fixture
def bn() -> Iterator[BnSetup]:
    emulator = BinanceEmulator()
    api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
    emulator.add_account(api_key, api_secret, "10000")
    with serving(emulator.app) as server:
        yield BnSetup(emulator, server, api_key, api_secret)


@pytest_asyncio.fixture
async def bn_client(bn: BnSetup) -> AsyncIterator[BinanceFuturesClient]:
    client = bn.client(symbols=["BTC", "ETH"])
    yield client
    await client.close()
