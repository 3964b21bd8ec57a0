"""Every answer is cached: a rerun of the same task asks the model nothing and costs nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.prompt_backtests import LLMCacheEntry
from db.transactions import read
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

HOLD = {"operation": "hold"}


async def _task(st: Stack, body: dict[str, object]) -> dict[str, object]:
    r = await st.api.post(URL, json=body)
    assert r.status_code == 201, r.text
    return await wait_final(st, r.json()["id"])


async def test_a_rerun_makes_no_call_and_counts_every_item_cached(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: at temperature 0 a rerun must be free and give the same answers (spec 8.11 #14)."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 4)
    emulator.reset()
    emulator.default = valid_json(operation="long", symbol="ETH", size_usd=50)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    first = await _task(st, body)
    assert first["status"] == "completed" and first["cached_count"] == 0, first
    assert len(emulator.requests) == 4
    assert first["spent_cost_usd"] != "0"  # gpt-4o-mini has a list price
    second = await _task(st, body)
    assert len(emulator.requests) == 4  # not one more call
    assert second["status"] == "completed"
    assert second["cached_count"] == second["sample_count"] == 4
    assert second["spent_cost_usd"] == "0"
    a = (await st.api.get(f"{URL}/{first['id']}/results")).json()
    b = (await st.api.get(f"{URL}/{second['id']}/results")).json()
    assert [i["decision"] for i in a["items"]] == [i["decision"] for i in b["items"]]
    assert all(i["cached"] and i["cost"] == "0" for i in b["items"])
    assert b["summary"]["hold_to_entry"] == 4


async def test_cache_false_asks_again(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a user checking a provider's nondeterminism must be able to opt out."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 2)
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    await _task(st, body)
    again = await _task(st, {**body, "cache": False})
    assert len(emulator.requests) == 4 and again["cached_count"] == 0


async def test_no_key_in_cache_rows(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: the cache outlives the trader's key; a row must never hold or derive from it."""
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD] * 2)
    emulator.default = valid_json(operation="hold", symbol=None)
    body = {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}
    await _task(st, body)

    def rows(s: Session) -> list[str]:
        entries = s.scalars(select(LLMCacheEntry)).all()
        return [repr((e.key, e.model, e.response, e.usage)) for e in entries]

    text = await read(st.app.state.sessions, rows)
    assert len(text) == 2
    for row in text:
        assert KEY not in row and KEY[-12:] not in row
