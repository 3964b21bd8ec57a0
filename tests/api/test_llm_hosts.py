"""Saving an `llm_base_url` the egress rules refuse is a 422 naming the field (and the setting
that would allow it), on create and on update; nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack, full_stack, make_settings

SETTING = "HYPERORU_LLM_ALLOW_PRIVATE_HOSTS"
METADATA = [
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/latest",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://[::ffff:169.254.169.254]/v1",
    "http://169.254.10.20:8080/v1",  # link-local
]
PRIVATE = ["http://127.0.0.1:11434/v1", "http://10.0.0.5/v1", "http://localhost:1234/v1"]


def prompt_trader(**llm: str) -> dict[str, str]:
    return {"name": "t", "account_type": "prompt", "llm_model": "m", **llm}


@pytest.fixture
async def st(temporal_address: str, sqlite_url: str) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


@pytest.fixture
async def st_private_allowed(temporal_address: str, sqlite_url: str) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, sqlite_url, llm_allow_private_hosts=True)
    async with full_stack(None, settings, worker=False) as s:
        yield s


def assert_refused(r, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "LLM_HOST_NOT_ALLOWED" and "llm_base_url" in body["error"], body
    for fragment in fragments:
        assert fragment in body["error"], body


async def test_metadata_private_and_loopback_refused_by_default(st: Stack) -> None:
    for url in METADATA:
        r = await st.post("/api/account/", prompt_trader(llm_provider="custom", llm_base_url=url))
        assert_refused(r)
    for url in PRIVATE:
        r = await st.post("/api/account/", prompt_trader(llm_provider="custom", llm_base_url=url))
        assert_refused(r, SETTING)
    assert (await st.api.get("/api/account/list")).json() == []


async def test_ollama_without_the_setting_says_which_setting_allows_it(st: Stack) -> None:
    r = await st.post("/api/account/", prompt_trader(llm_provider="ollama"))
    assert_refused(r, SETTING, "ollama", "localhost")


async def test_update_to_a_refused_host_changes_nothing(st: Stack) -> None:
    t = await st.create_trader(
        account_type="prompt",
        llm_provider="custom",
        llm_base_url="https://llm.example.com/v1",
        llm_model="m",
    )
    url = f"/api/account/{t['id']}"
    for bad in (METADATA[0], PRIVATE[0]):
        r = await st.api.put(url, json={"llm_base_url": bad, "llm_model": "other"})
        assert_refused(r)
    after = (await st.api.get(url)).json()
    assert after["llm_base_url"] == "https://llm.example.com/v1"
    assert after["llm_provider"] == "custom" and after["llm_model"] == "m"


async def test_switching_a_preset_to_ollama_is_checked_against_ollamas_url(st: Stack) -> None:
    """A trader on OpenAI's preset URL switched to `ollama` gets Ollama's URL (localhost), which
    is checked like any other; one with an explicit URL keeps it."""
    t = await st.create_trader(account_type="prompt", llm_provider="openai", llm_model="m")
    assert t["llm_base_url"] == "https://api.openai.com/v1"
    r = await st.api.put(f"/api/account/{t['id']}", json={"llm_provider": "ollama"})
    assert_refused(r, SETTING, "localhost")
    explicit = await st.create_trader(
        account_type="prompt", llm_provider="custom", llm_base_url="https://gw.example.com/v1"
    )
    r = await st.api.put(f"/api/account/{explicit['id']}", json={"llm_provider": "ollama"})
    assert r.status_code == 200 and r.json()["llm_base_url"] == "https://gw.example.com/v1"


async def test_the_setting_allows_private_hosts_but_never_metadata(
    st_private_allowed: Stack,
) -> None:
    st = st_private_allowed
    t = await st.create_trader(account_type="prompt", llm_provider="ollama", llm_model="llama3")
    assert t["llm_base_url"] == "http://localhost:11434/v1"
    for url in PRIVATE:
        await st.create_trader(account_type="prompt", llm_provider="custom", llm_base_url=url)
    for url in METADATA:
        r = await st.post("/api/account/", prompt_trader(llm_provider="custom", llm_base_url=url))
        assert_refused(r)
        assert SETTING not in r.json()["error"]  # no setting allows these
