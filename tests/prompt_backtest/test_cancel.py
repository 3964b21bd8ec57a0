"""Cancelling a running task stops it at an item boundary and keeps what it completed; a
running task cannot be deleted."""

from __future__ import annotations

import asyncio
import time

from tests.emulators.openai_server import Hang, OpenAIEmulator, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    wait_for,
)
from tests.support.stack import Stack

HOLD = {"operation": "hold"}


async def _items(st: Stack, task_id: int) -> list[dict[str, object]]:
    return list((await st.api.get(f"{URL}/{task_id}/results")).json()["items"])


async def test_cancel_keeps_the_completed_items(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a user stopping a slow or costly run keeps what was paid for (spec 8.7 cancel)."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 6)
    emulator.reset()
    emulator.script(valid_json(operation="hold", symbol=None), valid_json(operation="hold"))
    emulator.default = Hang(8.0, valid_json(operation="hold"))  # the third answer never comes
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    task_id = (await st.api.post(URL, json={**body, "concurrency": 1})).json()["id"]
    await wait_for(st, task_id, completed=2)
    r = await st.api.delete(f"{URL}/{task_id}")
    assert (r.status_code, r.json()["code"]) == (409, "TASK_RUNNING")
    started = time.monotonic()
    r = await st.api.post(f"{URL}/{task_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    # The workflow records the end once the chunk in flight has stopped: no item left pending.
    while any(i["status"] == "pending" for i in await _items(st, task_id)):
        assert time.monotonic() - started < 5, "not stopped within 5 s"
        await asyncio.sleep(0.1)
    items = await _items(st, task_id)
    assert [i["status"] for i in items] == ["done"] * 2 + ["skipped"] * 4
    task = (await st.api.get(f"{URL}/{task_id}")).json()
    assert task["status"] == "cancelled" and task["completed_count"] == 2
    out = (await st.api.get(f"{URL}/{task_id}/results")).json()
    assert out["summary"]["unchanged"] == 2
    handle = st.client.get_workflow_handle(f"prompt-backtest-{task_id}")
    assert (await handle.describe()).status.name == "CANCELED"
    assert (await st.api.delete(f"{URL}/{task_id}")).status_code == 204
    assert (await st.api.get(f"{URL}/{task_id}")).status_code == 404
