"""Values that used to be taken loosely are each a 422 naming the field: whitespace-only names,
a starting capital that rounds to nothing, decimals with more digits than their column holds
(silently rounded before), booleans spelt as strings, a signal pool bound twice, LLM settings on
a program trader. On SQLite and PostgreSQL: what passes is stored exactly as sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings

LONG_FRACTION = "1." + "0" * 4998 + "1"  # 5,000 digits


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url), worker=False) as s:
        yield s


def assert_field_refused(r: Any, field: str, code: str = "VALIDATION_ERROR") -> None:
    assert r.status_code == 422, (field, r.text[:300])
    body = r.json()
    assert body["code"] == code, body
    assert field in body["error"], (field, body)


async def _raw_post(st: Stack, url: str, body: str) -> Any:
    """A body as written, e.g. a JSON number with more digits than a float holds."""
    return await st.api.post(url, content=body, headers={"content-type": "application/json"})


async def test_whitespace_only_names(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    program = await st.create_program(programs.HOLD)
    prompt = (await st.post("/api/prompts/", {"name": "p", "content": "{symbols}"})).json()
    blank = " \t\n "
    for r in (
        await st.post("/api/account/", {"name": blank}),
        await st.api.put(f"/api/account/{tid}", json={"name": blank}),
        await st.post("/api/programs/", {"name": blank, "code": programs.HOLD}),
        await st.api.put(f"/api/programs/{program['id']}", json={"name": blank}),
        await st.post("/api/prompts/", {"name": blank, "content": "{symbols}"}),
        await st.api.put(f"/api/prompts/{prompt['id']}", json={"name": blank}),
        await st.api.patch(f"/api/prompts/{prompt['id']}/name", json={"name": blank}),
        await st.api.put("/api/users/profile", json={"username": blank}),
    ):
        assert_field_refused(r, "name")
    signal = {"name": blank, "indicator": "price", "operator": ">", "threshold": "1"}
    assert_field_refused(
        await st.post("/api/signals/definitions", signal), "name", "INVALID_SIGNAL"
    )
    pool = {"name": blank, "symbols": ["BTC"], "signal_ids": [1]}
    assert_field_refused(await st.post("/api/signals/pools", pool), "name")
    # Names are trimmed, not refused, when something is left.
    named = await st.post("/api/account/", {"name": "  BTC RSI  "})
    assert named.status_code == 201 and named.json()["name"] == "BTC RSI", named.text


async def test_initial_capital_has_a_sane_range(st: Stack) -> None:
    for capital in ("1e-30", "0.5", "0", "1000000001"):
        r = await st.post("/api/account/", {"name": "t", "initial_capital": capital})
        assert_field_refused(r, "initial_capital")
    assert_field_refused(
        await _raw_post(st, "/api/account/", '{"name": "t", "initial_capital": 1e-30}'),
        "initial_capital",
    )
    tid = (await st.create_trader())["id"]
    r = await st.api.put(f"/api/account/{tid}", json={"initial_capital": "0.000001"})
    assert_field_refused(r, "initial_capital")
    ok = await st.post("/api/account/", {"name": "t", "initial_capital": "1"})
    assert ok.status_code == 201 and ok.json()["initial_capital"] == "1", ok.text


async def test_decimals_beyond_their_column_are_refused_not_rounded(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    for field in ("initial_capital", "max_leverage", "max_position_notional_usd"):
        as_string = {"name": "t", field: LONG_FRACTION}
        assert_field_refused(await st.post("/api/account/", as_string), field)
        as_number = f'{{"name": "t", "{field}": {LONG_FRACTION}}}'
        assert_field_refused(await _raw_post(st, "/api/account/", as_number), field)
        r = await st.api.put(f"/api/account/{tid}", json={field: "2.00000000001"})
        assert_field_refused(r, field)  # 11 decimal places: the column keeps 10
    exact = {"name": "t", "initial_capital": "12345.0123456789", "max_leverage": 2.5}
    r = await st.post("/api/account/", exact)
    assert r.status_code == 201, r.text
    assert r.json()["initial_capital"] == "12345.0123456789"
    assert r.json()["max_leverage"] == "2.5"
    stored = (await st.api.get(f"/api/account/{r.json()['id']}")).json()
    assert stored["initial_capital"] == "12345.0123456789"


async def test_a_context_number_a_float_cannot_hold_is_refused(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    body = f'{{"account_id": {tid}, "content": "{{symbols}}", "context": {{"x": {LONG_FRACTION}}}}}'
    assert_field_refused(await _raw_post(st, "/api/prompts/preview", body), "context")
    body = f'{{"account_id": {tid}, "content": "{{symbols}}", "context": {{"x": 0.1, "y": 2}}}}'
    assert (await _raw_post(st, "/api/prompts/preview", body)).status_code == 200


async def test_booleans_are_json_booleans(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    program = await st.create_program(programs.HOLD)
    for value in ("yes", "true", 1, "1", "on"):
        for r, field in (
            (await st.post("/api/account/", {"name": "t", "trading_enabled": value}), "trading_"),
            (await st.api.put(f"/api/account/{tid}", json={"show_on_dashboard": value}), "show_"),
            (
                await st.post(
                    "/api/programs/", {"name": "p", "code": programs.HOLD, "enabled": value}
                ),
                "enab",
            ),
            (await st.api.put(f"/api/programs/{program['id']}", json={"enabled": value}), "enab"),
        ):
            assert_field_refused(r, field)
        pool = {"name": "p", "symbols": ["BTC"], "signal_ids": [1], "enabled": value}
        assert_field_refused(await st.post("/api/signals/pools", pool), "enabled")
        signal = {"name": "s", "indicator": "price", "operator": ">", "threshold": "1"}
        r = await st.post("/api/signals/definitions", {**signal, "enabled": value})
        assert_field_refused(r, "enabled", "INVALID_SIGNAL")
    r = await st.api.put(f"/api/account/{tid}", json={"show_on_dashboard": False})
    assert r.status_code == 200 and r.json()["show_on_dashboard"] is False, r.text


async def test_a_signal_pool_is_bound_at_most_once(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    program = (await st.create_program(programs.HOLD))["id"]
    signal = {"name": "s", "indicator": "price", "operator": ">", "threshold": "1"}
    sid = (await st.post("/api/signals/definitions", signal)).json()["id"]
    pool = {"name": "p", "symbols": ["BTC"], "signal_ids": [sid], "enabled": False}
    pid = (await st.post("/api/signals/pools", pool)).json()["id"]
    r = await st.post(
        f"/api/account/{tid}/bindings", {"program_id": program, "signal_pool_ids": [pid, pid]}
    )
    assert_field_refused(r, "signal_pool_ids")
    r = await st.post(
        f"/api/account/{tid}/bindings", {"program_id": program, "signal_pool_ids": [pid]}
    )
    assert r.status_code == 201 and r.json()["signal_pool_ids"] == [pid], r.text


async def test_llm_settings_only_on_prompt_traders(st: Stack) -> None:
    llm = {"llm_model": "gpt-4o-mini", "llm_api_key": "sk-test-1234", "llm_provider": "openai"}
    for field, value in llm.items():
        r = await st.post("/api/account/", {"name": "t", "account_type": "program", field: value})
        assert_field_refused(r, field)
    tid = (await st.create_trader())["id"]  # a program trader
    for field, value in llm.items():
        assert_field_refused(await st.api.put(f"/api/account/{tid}", json={field: value}), field)
    prompt = await st.post("/api/account/", {"name": "t", "account_type": "prompt", **llm})
    assert prompt.status_code == 201 and prompt.json()["llm_api_key_set"] is True, prompt.text
    blank_model = await st.api.put(f"/api/account/{prompt.json()['id']}", json={"llm_model": " "})
    assert_field_refused(blank_model, "llm_model")
