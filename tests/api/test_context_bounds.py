"""A free-form `context` is bounded at the edge: too deep or too many values is a 422 naming the
field and the limit (it used to pass validation and fail serialization later with a 500); one
at the limits runs all the way through (stored, encoded for the workflow and the sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from api.context_limits import MAX_CONTEXT_DEPTH, MAX_CONTEXT_VALUES
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep (itself included), alternating objects and arrays."""
    value: Any = {"leaf": 1}
    for level in range(depth - 1, 0, -1):  # the outermost wrapper (level 1) is an object
        value = {"n": value} if level % 2 else [value]
    assert isinstance(value, dict)
    return value


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def _trader(st: Stack) -> int:
    tid = int((await st.create_trader(trading_enabled=True))["id"])
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    return tid


async def _post_all(st: Stack, tid: int, context: dict[str, Any]) -> list[Any]:
    return [
        await st.post(f"/api/account/{tid}/trigger", {"context": context}),
        await st.post(
            "/api/programs/test-run",
            {"account_id": tid, "code": programs.HOLD, "context": context},
        ),
        await st.post(
            "/api/prompts/preview",
            {"account_id": tid, "content": "{trigger_context}", "context": context},
        ),
    ]


def assert_refused(r: Any, limit: int) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR", body
    assert body["error"].startswith("context: ") and str(limit) in body["error"], body


async def test_a_context_nested_too_deep_is_a_422(st: Stack) -> None:
    tid = await _trader(st)
    for r in await _post_all(st, tid, nested(400)):
        assert_refused(r, MAX_CONTEXT_DEPTH)
    for r in await _post_all(st, tid, nested(MAX_CONTEXT_DEPTH + 1)):
        assert_refused(r, MAX_CONTEXT_DEPTH)
    decisions = (await st.api.get(f"/api/account/{tid}/decisions")).json()
    assert decisions["total"] == 0  # nothing ran


async def test_a_context_with_too_many_values_is_a_422(st: Stack) -> None:
    tid = await _trader(st)
    wide = {"values": [0] * MAX_CONTEXT_VALUES}  # the list itself is one more value
    for r in await _post_all(st, tid, wide):
        assert_refused(r, MAX_CONTEXT_VALUES)


async def test_a_context_too_deep_to_parse_is_a_clean_4xx(st: Stack) -> None:
    tid = await _trader(st)
    body = b'{"context": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    r = await st.api.post(
        f"/api/account/{tid}/trigger", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"error", "code", "request_id"}


async def test_a_context_at_the_limits_runs_through(st: Stack) -> None:
    tid = await _trader(st)
    deep = nested(MAX_CONTEXT_DEPTH)
    trigger, test_run, preview = await _post_all(st, tid, deep)
    assert trigger.status_code == 200 and trigger.json()["status"] == "hold", trigger.text[:500]
    assert trigger.json()["record"]["trigger_context"]["n"] == deep["n"]
    assert test_run.status_code == 200 and test_run.json()["status"] == "ok", test_run.text
    assert preview.status_code == 200 and '"leaf"' in preview.json()["user"], preview.text
    wide = {"values": [0] * (MAX_CONTEXT_VALUES - 1)}
    for r in await _post_all(st, tid, wide):
        assert r.status_code == 200, r.text
