"""Prompt traders end to end: real stack, the real openai SDK, an OpenAI-compatible emulator."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.emulators.openai_server import (
    Hang,
    OpenAIEmulator,
    Reply,
    fenced,
    in_prose,
    rate_limited,
    server_error,
    truncated,
    unauthorized,
    unknown_symbol,
    valid_json,
    wrong_types,
)
from tests.support.stack import Stack, full_stack, make_settings

KEY = "sk-test-PLANTED-4f9c2b7e1d8a6035c9e2"
PASSWORD = "pw-PLANTED-7c1e9a3f5b2d"
TEMPLATE = (
    "You trade {symbols}. Prices:\n{market_prices}\nIndicators:\n{technical_indicators}\n"
    "Positions: {open_positions}\nBalance: {account_balance}\nWhy now: {trigger_context}\n"
    'Answer like {{"operation": "hold"}} when unsure.'
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenAIEmulator]:
    emu = OpenAIEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str, emulator: OpenAIEmulator
) -> AsyncIterator[Stack]:
    emulator.reset()
    # The emulator listens on 127.0.0.1: a loopback LLM host needs the operator's setting.
    settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=3.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack


async def _prompt_trader(
    st: Stack, emulator: OpenAIEmulator, http: httpx.AsyncClient | None = None
) -> int:
    http = http or st.api
    body = {
        "name": "t",
        "account_type": "prompt",
        "trading_enabled": True,
        "llm_provider": "custom",
        "llm_base_url": emulator.base_url,
        "llm_model": "gpt-4o-mini",
        "llm_api_key": KEY,
    }
    t = (await http.post("/api/account/", json=body)).json()
    p = (await http.post("/api/prompts/", json={"name": "p", "content": TEMPLATE})).json()
    r = await http.post(f"/api/account/{t['account_id']}/bindings", json={"prompt_id": p["id"]})
    assert r.status_code == 201, r.text
    return int(t["account_id"])


async def test_valid_answers_trade_and_everything_is_recorded(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    tid = await _prompt_trader(st, emulator)
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["llm_api_key_set"] is True and acct["llm_api_key_hint"] == "…" + KEY[-4:]
    assert KEY not in json.dumps(acct)
    emulator.script(
        valid_json(operation="long", symbol="BTC", size_usd=150, leverage=2),
        fenced(operation="hold"),
        in_prose(operation="hold"),
    )
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "executed", out
    assert out["orders"][0]["status"] == "filled"
    llm = out["record"]["llm_exchange"]
    assert "Prices:" in llm["user"] and "Respond with exactly one JSON object" in llm["user"]
    assert '{"operation": "hold"}' in llm["user"]  # literal braces survive
    assert llm["raw"] and llm["prompt_tokens"] and llm["latency_ms"] >= 0
    assert llm["model"] == "gpt-4o-mini" and llm["reasoning"]
    assert "cost_usd" in llm
    for _ in range(2):  # fenced and in-prose JSON are recovered
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
    req = emulator.requests[0]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["model"] == "gpt-4o-mini"
    assert len(emulator.requests) == 3


async def test_invalid_answers_place_no_order(st: Stack, emulator: OpenAIEmulator) -> None:
    tid = await _prompt_trader(st, emulator)
    emulator.script(
        truncated(),
        wrong_types(),
        unknown_symbol(),
        Reply(json.dumps({"operation": "long", "symbol": "BTC", "size_usd": 1e12})),
    )
    codes = []
    for _ in range(4):
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert out["status"] == "invalid", out
        assert out["record"]["llm_exchange"]["raw"]  # the raw text is kept
        codes.append(out["error_code"])
    assert codes == ["LLM_NOT_JSON", "LLM_SCHEMA", "LLM_UNKNOWN_SYMBOL", "LLM_ABSURD_SIZE"]
    assert (await st.api.get(f"/api/account/{tid}/orders")).json()["total"] == 0
    assert (await st.api.get(f"/api/account/{tid}")).json()["status"] == "Active"
    assert len(emulator.requests) == 4


async def test_rate_limit_retried_by_temporal_and_401_is_an_error(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    tid = await _prompt_trader(st, emulator)
    emulator.script(rate_limited(retry_after=0.2), valid_json(operation="hold"))
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "hold", out
    assert len(emulator.requests) == 2  # one per Temporal attempt: SDK retries are off
    emulator.reset()
    emulator.script(unauthorized())
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "failed" and out["error_code"] == "LLM_AUTH", out
    assert len(emulator.requests) == 1  # not retried
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["status"] == "Error" and "401" in acct["status_reason"]
    assert KEY not in json.dumps(out) and KEY not in json.dumps(acct)


async def test_server_error_and_hang_are_retried(st: Stack, emulator: OpenAIEmulator) -> None:
    tid = await _prompt_trader(st, emulator)
    emulator.script(server_error(), Hang(seconds=10), valid_json(operation="hold"))
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "hold", out
    assert out["record"]["output"]["decision"]["operation"] == "hold"
    assert len(emulator.requests) == 3  # 500, then a call that timed out, then the answer
    assert (await st.api.get(f"/api/account/{tid}/orders")).json()["total"] == 0


async def test_planted_key_is_nowhere_in_clear(
    st: Stack, emulator: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A planted LLM key, user password and session token: only hashes or sealed forms stay."""
    caplog.set_level(logging.DEBUG)
    tid = await _prompt_trader(st, emulator)
    emulator.script(valid_json(operation="hold"), unauthorized(), valid_json(operation="hold"))
    responses = [await st.post(f"/api/account/{tid}/trigger") for _ in range(2)]
    responses += [
        await st.api.get(url)
        for url in (
            f"/api/account/{tid}",
            "/api/account/list",
            f"/api/account/{tid}/decisions",
            f"/api/account/{tid}/bindings",
            "/api/prompts/",
        )
    ]
    async with st.anonymous() as http:
        creds = {"email": "planted@example.com", "password": PASSWORD}
        responses.append(await http.post("/api/users/register", json=creds))
        login = await http.post("/api/users/login", json=creds)
        token = login.json()["session_token"]
        assert PASSWORD not in login.text
        http.headers["Authorization"] = f"Bearer {token}"
        own = await _prompt_trader(st, emulator, http)
        responses.append(await http.post(f"/api/account/{own}/trigger"))
        responses += [
            await http.get(url)
            for url in ("/api/users/profile", f"/api/account/{own}", "/api/account/list")
        ]
        responses.append(await http.put("/api/users/profile", json={"username": "p"}))
        responses.append(await http.post("/api/users/logout"))
        responses.append(await http.get("/api/users/profile"))  # 401 now
    for r in responses:
        for secret in (KEY, PASSWORD, token):
            assert secret not in r.text and secret[-12:] not in r.text, r.request.url
    import base64

    for account in (tid, own):
        handle = st.client.get_workflow_handle(f"trader-{account}")
        history = json.dumps((await handle.fetch_history()).to_json_dict())
        for secret in (KEY, PASSWORD, token):
            assert secret not in history
            assert base64.b64encode(secret.encode()).decode()[:20] not in history
    for secret in (KEY, PASSWORD, token):
        assert secret not in caplog.text
    db_file = Path(st.settings.resolved_database_url.split("///", 1)[1])
    for f in db_file.parent.iterdir():
        data = f.read_bytes()
        for secret in (KEY, PASSWORD, token):
            assert secret.encode() not in data, f
    assert hashlib.sha256(token.encode()).hexdigest().encode() in b"".join(
        f.read_bytes() for f in db_file.parent.iterdir()
    )  # the token is there only as its hash


async def test_one_slow_provider_does_not_delay_another_trader(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    other = OpenAIEmulator().start()
    try:
        slow = await _prompt_trader(st, emulator)
        t = await st.create_trader(
            account_type="prompt",
            trading_enabled=True,
            llm_provider="custom",
            llm_base_url=other.base_url,
            llm_model="gpt-4o-mini",
            llm_api_key=KEY,
        )
        p = (
            await st.post("/api/prompts/", {"name": "q", "content": "Decide for {symbols}."})
        ).json()
        await st.post(f"/api/account/{t['account_id']}/bindings", {"prompt_id": p["id"]})
        emulator.script(Hang(seconds=10), valid_json(operation="hold"))
        other.script(valid_json(operation="hold"))
        slow_call = asyncio.create_task(st.post(f"/api/account/{slow}/trigger"))
        await asyncio.sleep(0.3)  # the slow provider is now hanging
        fast = (await st.post(f"/api/account/{t['account_id']}/trigger")).json()
        assert fast["status"] == "hold"
        assert not slow_call.done()  # still waiting on its own provider
        assert (await slow_call).json()["status"] == "hold"
    finally:
        other.stop()
