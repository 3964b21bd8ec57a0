"""Bad requests are refused before anything is stored or asked: 404 for a trader, prompt,
decision or task that is not the caller's, 422 naming the rule broken."""

from __future__ import annotations

from tests.emulators.openai_server import OpenAIEmulator
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
)
from tests.support.stack import Stack

HOLD = {"operation": "hold"}


async def _setup(st: Stack, emulator: OpenAIEmulator) -> dict[str, object]:
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [HOLD])
    emulator.reset()
    return {"account_id": acct, "prompt_id": await prompt(st), "decision_ids": ids}


async def test_another_users_or_unknown_things_are_404(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: another user's trader, prompt or task must look exactly like a missing one."""
    body = await _setup(st, emulator)
    program = await st.create_trader()
    async with st.user_client("other@example.com") as other:
        theirs = await prompt(st, http=other)
        r = await other.post(URL, json=body)  # not their trader
        assert (r.status_code, r.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")
    cases = [
        ({**body, "account_id": 999}, "ACCOUNT_NOT_FOUND"),
        ({**body, "account_id": program["account_id"]}, "ACCOUNT_NOT_FOUND"),  # not a prompt one
        ({**body, "prompt_id": 999}, "PROMPT_NOT_FOUND"),
        ({**body, "prompt_id": theirs}, "PROMPT_NOT_FOUND"),
        ({**body, "decision_ids": ["nope"]}, "DECISION_NOT_FOUND"),
    ]
    for sent, code in cases:
        r = await st.api.post(URL, json=sent)
        assert (r.status_code, r.json()["code"]) == (404, code), (sent, r.text)
        assert set(r.json()) == {"error", "code", "request_id"}
    for path in ("/1", "/1/results", "/0", "/99999999999"):
        r = await st.api.get(URL + path)
        assert (r.status_code, r.json()["code"]) == (404, "TASK_NOT_FOUND"), path
    assert (await st.api.post(URL + "/1/cancel")).status_code == 404
    assert (await st.api.delete(URL + "/1")).status_code == 404
    assert emulator.requests == []


async def test_broken_rules_are_422_naming_the_field(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: every refusal says which field and rule, and nothing is stored or asked."""
    body = await _setup(st, emulator)
    rules = [{"find": "careful", "replace": "bold"}]
    cases = [
        ({**body, "replace_rules": rules}, "prompt_id or replace_rules"),  # both
        ({k: v for k, v in body.items() if k != "prompt_id"}, "prompt_id or replace_rules"),
        ({**body, "temperature": 2.5}, "temperature"),
        ({**body, "cache": "yes"}, "cache"),
        ({**body, "max_cost_usd": "-1"}, "max_cost_usd"),
        ({**body, "concurrency": 0}, "concurrency"),
        ({**body, "mode": "dream"}, "mode"),
        ({**body, "config": {"start_date": "2026-02-01", "end_date": "2026-01-01"}}, "start_date"),
        ({**body, "decision_ids": None, "config": {"end_date": "2020-01-01"}}, "no recorded"),
        ({**body, "config": {"interval": "4h"}}, "replay mode takes start_date and end_date"),
        ({**body, "anonymize": True}, "anonymize"),
        ({**body, "decision_ids": ["x" * 65]}, "decision_ids"),
        ({**body, "mode": "simulate"}, "prompt_id: simulate mode takes"),  # with decision_ids
        ({**body, "decision_ids": None, "mode": "simulate"}, "config"),  # no symbols, dates
    ]
    for sent, field in cases:
        r = await st.api.post(URL, json=sent)
        assert r.status_code == 422, (sent, r.text)
        assert field in r.json()["error"], (field, r.json())
    assert (await st.api.get(URL)).json() == []
    assert emulator.requests == []
