"""The cost estimate before a task starts, and the budget that refuses or stops it."""

from __future__ import annotations

from decimal import Decimal

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


async def test_estimate_is_within_30_percent_of_the_reported_usage(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: the estimate is what a user agrees to pay (spec 8.11 #14: within +/-30 %). The
    emulator counts prompt tokens from the text the way BPE tokenizers split it."""
    emulator.count_tokens = True
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 6)
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    r = await st.api.post(URL, json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "pending" and created["progress"] == 0
    assert created["sample_count"] == created["estimated_calls"] == 6
    task = await wait_final(st, created["id"])
    assert task["status"] == "completed", task
    items = (await st.api.get(f"{URL}/{task['id']}/results")).json()["items"]
    used_in = sum(i["usage"]["prompt_tokens"] for i in items)
    used_out = sum(i["usage"]["completion_tokens"] for i in items)
    assert abs(created["estimated_input_tokens"] - used_in) <= 0.3 * used_in, (created, used_in)
    assert abs(created["estimated_output_tokens"] - used_out) <= 0.3 * used_out
    spent = sum(Decimal(i["cost"]) for i in items)
    estimated = Decimal(created["estimated_cost_usd"])
    assert abs(estimated - spent) <= Decimal("0.3") * spent, (estimated, spent)


async def test_unknown_price_has_no_cost_estimate(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a made-up price would mislead; null says "unknown" (and no budget can refuse)."""
    acct = await prompt_trader(st, emulator, model="house-model-7b")
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD])
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    emulator.default = valid_json(operation="hold", symbol=None)
    r = await st.api.post(URL, json={**body, "max_cost_usd": "0.0000001"})
    assert r.status_code == 201, r.text
    assert r.json()["estimated_cost_usd"] is None
    assert r.json()["estimated_input_tokens"] > 0
    assert r.json()["cutoff_warning"].startswith("unknown cutoff")
    await wait_final(st, r.json()["id"])


async def test_an_estimate_over_the_budget_is_refused(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: nothing may be spent on a task the user cannot afford; 422 before any call."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 3)
    emulator.reset()
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    r = await st.api.post(URL, json={**body, "max_cost_usd": "0.000001"})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "BUDGET_TOO_LOW" and "max_cost_usd" in r.json()["error"]
    assert (await st.api.get(URL)).json() == []
    assert emulator.requests == []


async def test_max_cost_stops_the_run_with_completed_budget(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: the budget is a cap on what is spent, checked after each chunk of 25 items; what ran
    stays and the rest is never asked."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 30)
    emulator.reset()
    # Answers far longer than the trader's history suggests: each costs 0.06 USD of output.
    emulator.default = Reply(valid_json(operation="hold").content, completion_tokens=100_000)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    r = await st.api.post(URL, json={**body, "max_cost_usd": "0.5"})
    assert r.status_code == 201, r.text
    task = await wait_final(st, r.json()["id"])
    assert task["status"] == "completed_budget", task
    assert task["completed_count"] == 25 and len(emulator.requests) == 25
    assert Decimal(task["spent_cost_usd"]) >= Decimal("0.5")
    items = (await st.api.get(f"{URL}/{task['id']}/results")).json()["items"]
    assert [i["status"] for i in items] == ["done"] * 25 + ["skipped"] * 5
