"""Replay mode re-asks recorded decisions with an edited template and reports what changed, with
the PnL of the original round trips it avoided or missed."""

from __future__ import annotations

import json

from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    round_trip,
    wait_final,
)
from tests.support.stack import Stack

LONG = {"operation": "long", "symbol": "BTC", "size_usd": "100", "leverage": "2"}
SHORT = {"operation": "short", "symbol": "BTC", "size_usd": "100", "leverage": "2"}
HOLD = {"operation": "hold"}


async def test_summary_counts_avoided_losses_missed_profits_and_flips(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: the summary is what a user decides on; every figure here is worked out by hand."""
    acct = await prompt_trader(st, emulator)
    base = await live_decision(st, emulator, acct)
    ids = await craft_decisions(st, acct, base, [LONG, SHORT, LONG, HOLD, LONG])
    await round_trip(st, acct, ids[0], "-30.5", 0)  # long that lost 30.5 -> now hold: avoided
    await round_trip(st, acct, ids[1], "20", 1)  # short that made 20 -> now hold: missed
    await round_trip(st, acct, ids[2], "-10", 2)  # long that lost 10 -> now short: flip, avoided
    await round_trip(st, acct, ids[4], "7", 3)  # long that made 7 -> still long: unchanged
    emulator.reset()
    emulator.script(
        valid_json(operation="hold", symbol=None),
        valid_json(operation="hold", symbol=None),
        valid_json(operation="short", symbol="BTC", size_usd=100),
        valid_json(operation="long", symbol="BTC", size_usd=100),
        valid_json(operation="long", symbol="BTC", size_usd=100),
    )
    pid = await prompt(st)
    body = {"account_id": acct, "prompt_id": pid, "mode": "replay", "decision_ids": ids}
    # One at a time: the emulator answers in the order it is asked. No cache: the crafted
    # decisions share one snapshot, so their prompts are the same text.
    r = await st.api.post(URL, json={**body, "concurrency": 1, "cache": False})
    assert r.status_code == 201, r.text
    task = await wait_final(st, r.json()["id"])
    assert task["status"] == "completed", task
    assert task["completed_count"] == 5 and task["failed_count"] == 0
    out = (await st.api.get(f"{URL}/{task['id']}/results")).json()
    assert out["summary"] == {
        "changed": 4,
        "unchanged": 1,
        "flipped_direction": 1,
        "entry_to_hold": 2,
        "hold_to_entry": 1,
        "other_changes": 0,
        "avoided_loss": {"count": 2, "amount": "40.5"},
        "missed_profit": {"count": 1, "amount": "20"},
    }
    changes = [i["decision"]["change"] for i in out["items"]]
    assert changes == [
        "entry_to_hold",
        "entry_to_hold",
        "flipped_direction",
        "hold_to_entry",
        "unchanged",
    ]
    # The edited template was rendered on each recorded snapshot, the temperature 0 sent.
    sent = emulator.requests
    assert len(sent) == 5
    assert all("only trade a clear trend" in r.body["messages"][1]["content"] for r in sent)
    assert all(r.body["temperature"] == 0 for r in sent)
    assert "Prices:" in sent[0].body["messages"][1]["content"]
    assert json.dumps(out).count("crafted-") >= 5
