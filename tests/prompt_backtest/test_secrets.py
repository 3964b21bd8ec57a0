"""The trader's LLM key never leaves its sealed column: not in a prompt backtest's workflow
history, its answers, its items or the cache (the task names the trader; the key is opened
inside the activity that calls the model)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from tests.emulators.openai_server import OpenAIEmulator, valid_json
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


def _readable(node: Any, out: list[str]) -> None:
    """Every string of a history's JSON, payloads (base64 `data`) decoded."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data" and isinstance(value, str):
                with contextlib.suppress(binascii.Error, ValueError):
                    out.append(base64.b64decode(value).decode("utf-8", "replace"))
            _readable(value, out)
    elif isinstance(node, list):
        for item in node:
            _readable(item, out)
    elif isinstance(node, str):
        out.append(node)


async def test_no_key_in_history_or_answers(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a key in history is readable by anyone with Temporal access, forever."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(
        st, acct, await live_decision(st, emulator, acct), [{"operation": "hold"}] * 3
    )
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    created = await st.api.post(URL, json=body)
    task = await wait_final(st, created.json()["id"])
    assert task["status"] == "completed", task
    assert emulator.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was used
    answers = [created.text, json.dumps(task)]
    for path in ("", "/results"):
        answers.append((await st.api.get(f"{URL}/{task['id']}{path}")).text)
    answers.append((await st.api.get(URL)).text)
    handle = st.client.get_workflow_handle(f"prompt-backtest-{task['id']}")
    strings: list[str] = []
    _readable(json.loads((await handle.fetch_history()).to_json()), strings)
    history = "\n".join(strings)
    assert f"{task['id']}" in history  # the payloads were read
    for text in (*answers, history):
        assert KEY not in text and KEY[-12:] not in text
        assert base64.b64encode(KEY.encode()).decode()[:20] not in text
