"""The worker enforces the LLM egress rules itself, and never echoes a provider's error body
beyond a short sanitised excerpt into the trader's status or the decision.

The API's check when a URL is saved is not enough: the operator may turn private hosts off
later, a name may resolve elsewhere by then, and the worker may run with other settings.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from tests.emulators.openai_server import Fail, OpenAIEmulator, valid_json
from tests.support.stack import Stack, full_stack, make_settings, running_worker

KEY = "sk-test-EGRESS-7d1c9b3e5f2a4068"


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenAIEmulator]:
    emu = OpenAIEmulator().start()
    yield emu
    emu.stop()


async def _prompt_trader(st: Stack, emulator: OpenAIEmulator) -> int:
    t = await st.create_trader(
        account_type="prompt",
        trading_enabled=True,
        llm_provider="custom",
        llm_base_url=emulator.base_url,
        llm_model="gpt-4o-mini",
        llm_api_key=KEY,
    )
    p = (await st.post("/api/prompts/", {"name": "p", "content": "Decide for {symbols}."})).json()
    r = await st.post(f"/api/account/{t['account_id']}/bindings", {"prompt_id": p["id"]})
    assert r.status_code == 201, r.text
    return int(t["account_id"])


@pytest.fixture
async def st_worker_refuses_private(
    temporal_client: Client, temporal_address: str, sqlite_url: str, emulator: OpenAIEmulator
) -> AsyncIterator[Stack]:
    """The API allowed private hosts when the trader was saved; the worker does not."""
    emulator.reset()
    api_settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=3.0, llm_allow_private_hosts=True
    )
    worker_settings = api_settings.model_copy(update={"llm_allow_private_hosts": False})
    async with (
        full_stack(None, api_settings, worker=False) as stack,
        running_worker(stack.client, worker_settings),
    ):
        yield stack


async def test_worker_refuses_a_private_host_the_api_accepted(
    st_worker_refuses_private: Stack, emulator: OpenAIEmulator
) -> None:
    st = st_worker_refuses_private
    tid = await _prompt_trader(st, emulator)
    emulator.script(valid_json(operation="hold"))
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "failed" and out["error_code"] == "LLM_HOST_NOT_ALLOWED", out
    assert "HYPERORU_LLM_ALLOW_PRIVATE_HOSTS" in out["error"]
    assert emulator.requests == []  # the key never left the worker
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["status"] == "Error" and "LLM_HOST_NOT_ALLOWED" in acct["status_reason"]


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str, emulator: OpenAIEmulator
) -> AsyncIterator[Stack]:
    emulator.reset()
    settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=3.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack


async def test_provider_error_body_is_not_echoed(st: Stack, emulator: OpenAIEmulator) -> None:
    """A 400 whose body carries terminal escapes, a forged log line, the key (split by
    zero-width spaces) and 50,000 characters: the trader's status and the decision hold a
    short, one-line excerpt without the key."""
    body = (
        "\x1b[31mbad request\x1b[0m\r\n2026-01-01 INFO forged log line\u202e "
        + "\u200b".join(KEY)
        + " "
        + "B" * 50_000
    )
    emulator.script(Fail(400, body))
    tid = await _prompt_trader(st, emulator)
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "failed" and out["error_code"] == "LLM_BAD_REQUEST", out
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    decisions = (await st.api.get(f"/api/account/{tid}/decisions")).json()
    record = decisions["items"][0]
    for text in (out["error"], acct["status_reason"], record["error"]):
        assert "bad request" in text
        assert len(text) <= 400, len(text)
        assert not [c for c in text if unicodedata.category(c)[0] == "C"], repr(text)
        visible = "".join(c for c in text if c.isprintable())
        assert KEY not in visible and "EGRESS-7d1c" not in visible
    everything = json.dumps([out, acct, decisions])
    assert "B" * 300 not in everything
