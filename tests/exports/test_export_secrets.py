"""No secret is in any export: a prompt trader's LLM key (also when its provider echoed it in an
error) and a live trader's exchange key, in clear or sealed, appear in none of its files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import eth_account
import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.models import Account
from tests import programs
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.emulators.openai_server import OpenAIEmulator, unauthorized, valid_json
from tests.support.stack import Stack, full_stack, make_settings

LLM_KEY = "sk-test-PLANTED-export-3b8e1f0c7d2a9645e1"
KINDS = ("decisions", "orders", "fills", "round-trips", "equity")


@pytest.fixture
def llm() -> Iterator[OpenAIEmulator]:
    emu = OpenAIEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    # The emulators listen on 127.0.0.1: a loopback LLM host needs the operator's setting.
    settings = make_settings(temporal_address, sqlite_url, llm_allow_private_hosts=True)
    async with full_stack(None, settings) as stack:
        yield stack


async def _exports(st: Stack, tid: int) -> list[str]:
    urls = [f"/api/account/{tid}/export.json?include_snapshot=true"]
    urls += [f"/api/account/{tid}/export/{k}.csv?include_snapshot=true" for k in KINDS]
    texts = []
    for url in urls:
        r = await st.api.get(url)
        assert r.status_code == 200, r.text
        texts.append(r.text)
    return texts


async def _sealed(st: Stack, tid: int) -> list[str]:
    async with st.app.state.sessions() as s:
        row = (
            await s.execute(
                select(Account.llm_api_key_sealed, Account.exchange_credentials_sealed).where(
                    Account.id == tid
                )
            )
        ).one()
    return [v for v in row if v]


async def test_an_llm_key_is_in_no_export(st: Stack, llm: OpenAIEmulator) -> None:
    body = {"name": "t", "account_type": "prompt", "trading_enabled": True,
            "llm_provider": "custom", "llm_base_url": llm.base_url, "llm_model": "gpt-4o-mini",
            "llm_api_key": LLM_KEY}  # fmt: skip
    tid = (await st.post("/api/account/", body)).json()["id"]
    prompt = (await st.post("/api/prompts/", {"name": "p", "content": "Trade {symbols}."})).json()
    await st.post(f"/api/account/{tid}/bindings", {"prompt_id": prompt["id"]})
    llm.script(valid_json(operation="long", symbol="BTC", size_usd=150, leverage=2),
               unauthorized(echo_key=True))  # fmt: skip
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "failed"
    texts = await _exports(st, tid)
    assert '"llm_exchange":{' in texts[0]  # the prompts and raw answers are there
    for text in texts:
        assert LLM_KEY not in text and LLM_KEY[-12:] not in text
        for sealed in await _sealed(st, tid):
            assert sealed not in text


async def test_an_exchange_key_is_in_no_export(st: Stack) -> None:
    venue = HyperliquidEmulator()
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    venue.add_user(wallet.address, "10000")
    venue.approve_agent(wallet.address, agent.address)
    with serving(venue.app) as server:
        tid = (await st.create_trader(exchange="hyperliquid", symbols=["BTC"]))["id"]
        key = agent.key.hex()
        r = await st.api.put(f"/api/account/{tid}/exchange", json={
            "environment": "testnet", "wallet_address": wallet.address, "base_url": server.url,
            "api_wallet_private_key": key})  # fmt: skip
        assert r.status_code == 200, r.text
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
        texts = await _exports(st, tid)
    assert '"trade_id"' in texts[0]  # the venue's fill is there
    for text in texts:
        assert key.removeprefix("0x") not in text and key[-12:] not in text
        for sealed in await _sealed(st, tid):
            assert sealed not in text
