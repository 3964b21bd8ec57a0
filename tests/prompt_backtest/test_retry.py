"""Retry asks the failed items again, and only those; an unusable answer is not cached."""

from __future__ import annotations

from tests.emulators.openai_server import OpenAIEmulator, Reply, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    wait_final,
)
from tests.support.stack import Stack

HOLD = {"operation": "hold"}


async def test_retry_asks_only_the_failed_items(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a flaky answer should cost one more call, not a rerun of the whole task."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 3)
    emulator.reset()
    emulator.script(valid_json(operation="hold"), Reply("no idea, sorry"))
    emulator.default = valid_json(operation="hold", symbol=None)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    task_id = (await st.api.post(URL, json={**body, "concurrency": 1})).json()["id"]
    task = await wait_final(st, task_id)
    assert (task["status"], task["completed_count"], task["failed_count"]) == ("completed", 2, 1)
    failed = (await st.api.get(f"{URL}/{task_id}/results")).json()["items"][1]
    assert failed["status"] == "failed" and failed["error"].startswith("LLM_NOT_JSON")
    r = await st.api.post(f"{URL}/{task_id}/retry")
    assert r.status_code == 200, r.text
    task = await wait_final(st, task_id)
    assert (task["status"], task["completed_count"], task["failed_count"]) == ("completed", 3, 0)
    assert len(emulator.requests) == 4  # the one failed item asked again, nothing else
    r = await st.api.post(f"{URL}/{task_id}/retry")
    assert (r.status_code, r.json()["code"]) == (409, "NOTHING_TO_RETRY")
