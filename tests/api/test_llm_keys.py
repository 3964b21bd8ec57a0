"""LLM API keys: refused when saved if an HTTP header cannot carry them (422 naming
`llm_api_key`), and removable with `"llm_api_key": null` or `""` on PUT.

Before, a key pasted with a line break (or with non-ASCII characters) was stored, and every call
then failed as "could not connect" after 30 s of retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack, full_stack, make_settings

GOOD = "sk-proj-GoodKey_0123456789-abcdef"
BAD = [
    GOOD + "\n",  # pasted with a trailing newline
    "sk-abc\r\nX-Injected: 1",
    "sk-abc def",
    "sk-\tabc",
    "sk-ключ-0123",
    "sk-abc\u200b123",
    "sk-abc\x7f",
]


@pytest.fixture
async def st(temporal_address: str, sqlite_url: str) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


def assert_key_refused(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR" and "llm_api_key" in r.json()["error"], r.text


async def test_keys_no_header_can_carry_are_refused_on_create_and_update(st: Stack) -> None:
    body = {"name": "t", "account_type": "prompt", "llm_provider": "openai", "llm_model": "m"}
    for bad in BAD:
        assert_key_refused(await st.post("/api/account/", {**body, "llm_api_key": bad}))
    assert (await st.api.get("/api/account/list")).json() == []
    t = await st.create_trader(**{**body, "llm_api_key": GOOD})
    for bad in BAD:
        assert_key_refused(await st.api.put(f"/api/account/{t['id']}", json={"llm_api_key": bad}))
    after = (await st.api.get(f"/api/account/{t['id']}")).json()
    assert after["llm_api_key_set"] is True and after["llm_api_key_hint"] == "…" + GOOD[-4:]


@pytest.mark.parametrize("cleared", [None, ""])
async def test_a_stored_key_can_be_removed(st: Stack, cleared: str | None) -> None:
    t = await st.create_trader(
        account_type="prompt", llm_provider="openai", llm_model="m", llm_api_key=GOOD
    )
    url = f"/api/account/{t['id']}"
    r = await st.api.put(url, json={"name": "renamed"})  # leaving it out keeps it
    assert r.json()["llm_api_key_set"] is True
    r = await st.api.put(url, json={"llm_api_key": cleared})
    assert r.status_code == 200, r.text
    assert r.json()["llm_api_key_set"] is False and r.json()["llm_api_key_hint"] is None
    assert (await st.api.get(url)).json()["llm_api_key_set"] is False
    r = await st.api.put(url, json={"llm_api_key": GOOD})  # and set again
    assert r.json()["llm_api_key_set"] is True
