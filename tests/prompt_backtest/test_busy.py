"""A prompt backtest takes a backtest slot like a program backtest (they share the backtest
worker): a user's second run at once, of either kind, is 429 BACKTEST_BUSY and nothing is
stored."""

from __future__ import annotations

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


async def test_a_second_prompt_task_at_once_is_429_until_the_first_ends(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 4)
    emulator.reset()
    emulator.script(valid_json(operation="hold"))
    emulator.default = Hang(8.0, valid_json(operation="hold"))  # the second answer hangs
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    first = (await st.api.post(URL, json={**body, "concurrency": 1})).json()["id"]
    await wait_for(st, first, completed=1)
    before = len((await st.api.get(URL)).json())
    r = await st.api.post(URL, json=body)
    assert (r.status_code, r.json()["code"]) == (429, "BACKTEST_BUSY"), r.text
    assert len((await st.api.get(URL)).json()) == before  # nothing stored
    assert (await st.api.post(f"{URL}/{first}/cancel")).status_code == 200
    emulator.default = valid_json(operation="hold")
    r = await st.api.post(URL, json=body)  # the slot is free again
    assert r.status_code == 201, r.text
