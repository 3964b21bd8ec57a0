"""The workflow answers a `progress` query with the counters as of its last chunk."""

from __future__ import annotations

import asyncio

from domain.prompt_backtest import Progress
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


async def test_progress_query_after_a_chunk(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a UI follows a long run without reading the database (spec 8.7)."""
    acct = await prompt_trader(st, emulator)
    base = await live_decision(st, emulator, acct)
    ids = await craft_decisions(st, acct, base, [{"operation": "hold"}] * 27)
    emulator.reset()
    emulator.script(*[valid_json(operation="hold", symbol=None)] * 25)
    emulator.default = Hang(5.0, valid_json(operation="hold"))
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    task_id = (await st.api.post(URL, json=body)).json()["id"]
    await wait_for(st, task_id, completed=25)
    handle = st.client.get_workflow_handle(f"prompt-backtest-{task_id}")
    for _ in range(100):
        progress = await handle.query("progress", result_type=Progress)
        if progress.completed == 25:
            break
        await asyncio.sleep(0.05)
    assert (progress.completed, progress.total, progress.failed) == (25, 27, 0)
    assert progress.spent_cost_usd != "0"
    await st.api.post(f"{URL}/{task_id}/cancel")
