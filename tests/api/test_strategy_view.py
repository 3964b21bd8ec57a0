"""GET /api/account/{id}/strategy: a trader's strategy configuration (bindings with their
program or prompt, schedule and pools; symbols; risk limits; model settings), never a key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings

LLM_KEY = "sk-test-PLANTED-strategy-91c4e7a2b05d"
SIGNAL = {"name": "up", "indicator": "price", "operator": ">", "threshold": 0, "timeframe": "1m"}


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def test_a_program_traders_bindings_and_limits(st: Stack) -> None:
    tid = (await st.create_trader(symbols=["BTC", "ETH"], max_leverage="3",
                                  max_position_notional_usd="500.50"))["id"]  # fmt: skip
    program = await st.create_program(programs.HOLD, "holder")
    signal = (await st.post("/api/signals/definitions", SIGNAL)).json()
    pool = (await st.post("/api/signals/pools", {"name": "ups", "symbols": ["BTC"],
                                                 "signal_ids": [signal["id"]]})).json()  # fmt: skip
    binding = await st.bind(tid, program["id"], schedule_interval_seconds=300,
                            signal_pool_ids=[pool["id"]])  # fmt: skip
    got = (await st.api.get(f"/api/account/{tid}/strategy")).json()
    assert (got["account_id"], got["account_type"], got["exchange"]) == (tid, "program", "paper")
    assert got["symbols"] == ["BTC", "ETH"] and got["llm"] is None
    assert got["risk_limits"] == {"max_leverage": "3", "max_position_notional_usd": "500.5",
                                  "max_concurrent_positions": 3}  # fmt: skip
    (b,) = got["bindings"]
    assert (b["id"], b["schedule_interval_seconds"], b["prompt"]) == (binding["id"], 300, None)
    assert b["program"] == {"id": program["id"], "name": "holder"}
    assert b["signal_pools"] == [{"id": pool["id"], "name": "ups", "signals_count": 1,
                                  "symbols": ["BTC"], "enabled": True}]  # fmt: skip


async def test_a_prompt_traders_model_without_its_key(st: Stack) -> None:
    body = {"name": "p", "account_type": "prompt", "llm_provider": "openai",
            "llm_model": "gpt-4o-mini", "llm_api_key": LLM_KEY}  # fmt: skip
    tid = (await st.post("/api/account/", body)).json()["id"]
    r = await st.api.get(f"/api/account/{tid}/strategy")
    assert r.json()["llm"] == {"provider": "openai", "model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1",
                               "api_key_set": True}  # fmt: skip
    assert LLM_KEY not in r.text and LLM_KEY[-4:] not in r.text


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader(name="A's trader"))["id"]
    async with st.user_client("b@example.com") as b:
        r = await b.get(f"/api/account/{tid}/strategy")
    assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
