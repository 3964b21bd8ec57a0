"""Size limits of a prompt trader's exchange with its model: the rendered prompt (stored on every
decision and paid for on every call) and the model's answer (carried in Temporal payloads)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import update
from temporalio.client import Client

from db.models import PromptTemplate
from domain.llm_output import MAX_ANSWER_CHARS
from tests.emulators.openai_server import Fail, OpenAIEmulator, Reply, valid_json
from tests.support.stack import Stack, full_stack, make_settings

HUGE_TEMPLATE = "{kline_data}" * 8000  # 96 KB of template, ~23 MB once rendered


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
        temporal_address, sqlite_url, llm_timeout_seconds=5.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack


async def _prompt_trader(st: Stack, emulator: OpenAIEmulator, content: str) -> tuple[int, int]:
    t = await st.create_trader(
        account_type="prompt",
        trading_enabled=True,
        llm_provider="custom",
        llm_base_url=emulator.base_url,
        llm_model="gpt-4o-mini",
    )
    p = (await st.post("/api/prompts/", {"name": "p", "content": content})).json()
    r = await st.post(f"/api/account/{t['account_id']}/bindings", {"prompt_id": p["id"]})
    assert r.status_code == 201, r.text
    return int(t["account_id"]), int(p["id"])


def assert_too_large(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "PROMPT_TOO_LARGE" and "200,000" in r.json()["error"], r.text


async def test_saving_a_template_that_could_render_too_large_is_refused(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    assert_too_large(await st.post("/api/prompts/", {"name": "x", "content": HUGE_TEMPLATE}))
    tid, pid = await _prompt_trader(st, emulator, "Decide for {symbols}.")
    assert_too_large(await st.api.put(f"/api/prompts/{pid}", json={"content": HUGE_TEMPLATE}))
    assert (await st.api.get(f"/api/prompts/{pid}")).json()["content"] == "Decide for {symbols}."
    preview = {"account_id": tid, "content": HUGE_TEMPLATE}
    assert_too_large(await st.post("/api/prompts/preview", preview))


async def test_an_oversize_prompt_fails_the_decision_without_calling_the_model(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """A template stored before the cap existed (written straight to the database here)."""
    tid, pid = await _prompt_trader(st, emulator, "Decide for {symbols}.")
    async with st.deps.sessions() as s, s.begin():
        await s.execute(
            update(PromptTemplate).where(PromptTemplate.id == pid).values(content=HUGE_TEMPLATE)
        )
    emulator.script(valid_json(operation="hold"))
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "failed" and out["error_code"] == "PROMPT_TOO_LARGE", out
    assert "200,000" in out["error"]
    assert emulator.requests == []
    assert not (out["record"]["llm_exchange"] or {}).get("user")  # no 23 MB prompt stored


async def test_an_oversize_answer_is_an_invalid_decision_paid_for_once(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """A 3 MB answer (over Temporal's payload limit): before, the activity's result was refused,
    the call retried and paid for five times, then STRATEGY_UNAVAILABLE."""
    huge = Reply(json.dumps({"operation": "hold", "reasoning": "r" * 3_000_000}))
    emulator.default = huge  # whatever is asked again would be paid again
    try:
        tid, _ = await _prompt_trader(st, emulator, "Decide for {symbols}.")
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
    finally:
        emulator.default = Fail(500, "emulator: no scripted behaviour left")
    assert out["status"] == "invalid" and out["error_code"] == "LLM_ANSWER_TOO_LARGE", out
    assert "65,536" in out["error"]
    raw = out["record"]["llm_exchange"]["raw"]
    assert len(raw) == MAX_ANSWER_CHARS and raw.startswith('{"operation": "hold"')
    assert len(emulator.requests) == 1
    assert (await st.api.get(f"/api/account/{tid}/orders")).json()["total"] == 0
