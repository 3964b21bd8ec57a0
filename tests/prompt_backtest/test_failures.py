"""A provider failing mid-task: a 5xx is retried and the retried chunk resumes after the items
it stored; a refused key fails the task with a readable error that holds no key."""

from __future__ import annotations

from tests.emulators.openai_server import OpenAIEmulator, server_error, unauthorized, valid_json
from tests.prompt_backtest.support import (
    KEY,
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    wait_final,
)
from tests.support.stack import Stack

HOLD = {"operation": "hold"}


async def test_a_retried_chunk_asks_only_what_it_had_not_stored(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: every answer is paid for; a chunk retried after a failure must not pay twice."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 5)
    emulator.reset()
    hold = valid_json(operation="hold", symbol=None)
    emulator.script(hold, hold, server_error(502))
    emulator.default = hold
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    task = await wait_final(
        st, (await st.api.post(URL, json={**body, "concurrency": 1})).json()["id"]
    )
    assert task["status"] == "completed" and task["completed_count"] == 5, task
    users = [r.body["messages"][1]["content"] for r in emulator.requests]
    assert len(users) == 6  # 5 items, and the one that failed asked once more
    assert users[2] == users[3] and len(set(users)) == 5  # only the failed item was asked again


async def test_a_refused_key_fails_the_task_readably(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: retrying a 401 only burns time; the owner needs the reason, never the key (the
    provider echoes it back here)."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 2)
    emulator.reset()
    emulator.default = unauthorized(echo_key=True)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    task = await wait_final(st, (await st.api.post(URL, json=body)).json()["id"])
    assert task["status"] == "failed", task
    assert "401" in task["error"] and KEY not in task["error"] and KEY[-12:] not in task["error"]
    assert task["completed_count"] == 0
    items = (await st.api.get(f"{URL}/{task['id']}/results")).json()["items"]
    assert {i["status"] for i in items} == {"skipped"}
