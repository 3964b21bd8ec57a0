"""`program_id` on /programs and `prompt_id` on /ai-attribution narrow them to one strategy of
yours; another user's strategy answers exactly like a missing one (404)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests import programs
from tests.analytics.rows import at, decision
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def test_program_id_keeps_one_program(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    mine = (await st.create_program(programs.HOLD, "mine"))["id"]
    other = (await st.create_program(programs.HOLD, "other"))["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(1), "hold", status="hold", program_id=mine, run_ms=2))
        s.add(decision(tid, 2, at(2), "hold", status="hold", program_id=other, run_ms=2))
    r = await st.api.get("/api/analytics/programs", params={"program_id": mine})
    assert r.status_code == 200, r.text
    assert [(x["program_id"], x["program_name"], x["executions"]) for x in r.json()] == [
        (mine, "mine", 1)
    ]


async def test_prompt_id_keeps_one_prompt(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    one = (await st.post("/api/prompts/", {"name": "a", "content": "{symbols}"})).json()["id"]
    two = (await st.post("/api/prompts/", {"name": "b", "content": "{symbols}"})).json()["id"]
    async with st.app.state.sessions() as s, s.begin():
        for n, prompt in enumerate((one, two, two)):
            llm = {"prompt_id": prompt, "model": "m"}
            s.add(decision(tid, n, at(1), "long", "BTC", llm=llm))
    r = await st.api.get("/api/analytics/ai-attribution", params={"prompt_id": two})
    assert r.status_code == 200, r.text
    assert r.json()["accuracy"]["overall"]["long"]["decisions"] == 2
    assert [m["decisions"] for m in r.json()["models"]] == [2]


async def test_another_users_strategy_is_a_missing_one(st: Stack) -> None:
    program = (await st.create_program(programs.HOLD, "mine"))["id"]
    prompt = (await st.post("/api/prompts/", {"name": "a", "content": "{symbols}"})).json()["id"]
    async with st.user_client("b@example.com") as b:
        theirs = await b.get("/api/analytics/programs", params={"program_id": program})
        missing = await b.get("/api/analytics/programs", params={"program_id": 999999})
        prompt_r = await b.get("/api/analytics/ai-attribution", params={"prompt_id": prompt})
    for r, code in (
        (theirs, "PROGRAM_NOT_FOUND"),
        (missing, "PROGRAM_NOT_FOUND"),
        (prompt_r, "PROMPT_NOT_FOUND"),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["code"] == code
