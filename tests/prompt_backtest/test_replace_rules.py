"""Find/replace rules edit the exact prompt text a recorded decision sent."""

from __future__ import annotations

from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt_trader,
    wait_final,
)
from tests.support.stack import Stack


async def test_rules_apply_to_the_recorded_prompt(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: HAA's find/replace workflow; the recorded text is point in time by construction."""
    acct = await prompt_trader(st, emulator)
    base = await live_decision(st, emulator, acct)
    ids = await craft_decisions(st, acct, base, [{"operation": "hold"}])
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    rules = [{"find": "when unsure", "replace": "unless the trend is obvious"}]
    body = {"account_id": acct, "decision_ids": ids, "replace_rules": rules}
    r = await st.api.post(URL, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["prompt_id"] is None
    task = await wait_final(st, r.json()["id"])
    assert task["status"] == "completed", task
    sent = emulator.requests[0].body["messages"]
    recorded = base["llm_exchange"]["user"]
    assert "when unsure" in recorded
    assert sent[1]["content"] == recorded.replace("when unsure", "unless the trend is obvious")
    assert sent[0]["content"] == base["llm_exchange"]["system"]
