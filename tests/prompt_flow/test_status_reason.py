"""A failed prompt decision names its error code once (issue 19: `LLM_AUTH: LLM_AUTH: ...`).

The activity raises an ApplicationError whose type is the code (LLM_AUTH); `str()` of such an
error is already "LLM_AUTH: <message>", and the workflow puts the code in front of the
description again. The code belongs in `error_code` and once at the head of `status_reason`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from tests.emulators.openai_server import OpenAIEmulator, unauthorized
from tests.support.stack import Stack, full_stack, make_settings

KEY = "sk-test-status-reason-5e1f0c9a7b3d"
TEMPLATE = "You trade {symbols}. Prices:\n{market_prices}\nAnswer with one JSON object."
MESSAGE = "the provider rejected the API key (401)"


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
    settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=3.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack


async def test_a_401_names_its_code_once(st: Stack, emulator: OpenAIEmulator) -> None:
    body = {
        "name": "t",
        "account_type": "prompt",
        "trading_enabled": True,
        "llm_provider": "custom",
        "llm_base_url": emulator.base_url,
        "llm_model": "gpt-4o-mini",
        "llm_api_key": KEY,
    }
    tid = (await st.api.post("/api/account/", json=body)).json()["account_id"]
    p = (await st.api.post("/api/prompts/", json={"name": "p", "content": TEMPLATE})).json()
    r = await st.api.post(f"/api/account/{tid}/bindings", json={"prompt_id": p["id"]})
    assert r.status_code == 201, r.text
    emulator.script(unauthorized())

    out = (await st.post(f"/api/account/{tid}/trigger")).json()

    assert out["status"] == "failed" and out["error_code"] == "LLM_AUTH", out
    assert out["error"] == MESSAGE
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["status"] == "Error"
    assert acct["status_reason"] == f"LLM_AUTH: {MESSAGE}"
