"""README's prompt-trader example, run as written: on the `offline` stand-in it trades without a
key or network, and every decision says it came from a stand-in, not a real model.

Before, the example used a fake `sk-...` key: the trader it left active failed every 15 minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def readme_prompt_example() -> list[dict[str, Any]]:
    """The JSON bodies (`-d '...'`) of the first shell block of "Prompt strategies", in order."""
    text = README.read_text()
    section = text[text.index("## Prompt strategies") :]
    block = section[section.index("```sh") + 5 :]
    block = block[: block.index("```")]
    return [json.loads(body) for body in re.findall(r"-d '(.*?)'", block, re.S)]


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    # Default settings: no private hosts, and nothing listens anywhere for an LLM.
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def test_readme_prompt_example_trades_on_the_offline_stand_in(st: Stack) -> None:
    create, prompt, binding, preview, switch = readme_prompt_example()
    assert create["llm_provider"] == "offline" and "llm_api_key" not in create
    t = await st.create_trader(**create)
    tid = t["account_id"]
    assert t["llm_model"] == "offline" and t["llm_api_key_set"] is False
    p = (await st.post("/api/prompts/", prompt)).json()
    r = await st.post(f"/api/account/{tid}/bindings", {**binding, "prompt_id": p["id"]})
    assert r.status_code == 201, r.text
    r = await st.post("/api/prompts/preview", {**preview, "account_id": tid, "prompt_id": p["id"]})
    assert r.status_code == 200 and "Prices:" in r.json()["user"]

    for _ in range(3):
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert out["status"] in ("executed", "hold", "denied"), out
        llm = out["record"]["llm_exchange"]
        assert llm["provider"] == "offline"
        assert "not a real model" in llm["response_model"]
        assert llm["reasoning"].startswith("[offline stand-in, not a real model]")
        assert llm["cost_usd"] in ("0", "0.000000")
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert acct["status"] == "Active", acct

    # The README's real-provider step: the placeholder must be replaced by a key.
    r = await st.api.put(f"/api/account/{tid}", json=switch)
    assert r.status_code == 422 and "llm_api_key" in r.json()["error"]
    r = await st.api.put(
        f"/api/account/{tid}", json={**switch, "llm_api_key": "sk-real-1234567890"}
    )
    assert r.status_code == 200 and r.json()["llm_base_url"] == "https://api.openai.com/v1"


async def test_the_offline_provider_takes_no_base_url(st: Stack) -> None:
    body = {"name": "t", "account_type": "prompt", "llm_provider": "offline"}
    r = await st.post("/api/account/", {**body, "llm_base_url": "https://api.example.com/v1"})
    assert r.status_code == 422 and "base URL" in r.json()["error"], r.text
