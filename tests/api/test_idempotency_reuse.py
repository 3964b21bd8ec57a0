"""An Idempotency-Key names one request: resent with the same body it gets the first decision,
with another body (binding_id or context) a 422 IDEMPOTENCY_KEY_REUSED and nothing runs. It
used to answer the other body silently with the first decision, as if it had run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from db.models import DecisionRecord
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url)) as stack:
        yield stack


async def _trader(st: Stack) -> tuple[int, list[int]]:
    tid = int((await st.create_trader(trading_enabled=True))["id"])
    program = (await st.create_program(programs.HOLD))["id"]
    bindings = [(await st.bind(tid, program))["id"] for _ in range(2)]
    return tid, bindings


async def _trigger(st: Stack, tid: int, key: str, body: dict[str, Any]) -> Any:
    return await st.post(f"/api/account/{tid}/trigger", body, headers={"Idempotency-Key": key})


async def _decision_count(st: Stack, tid: int) -> int:
    return int((await st.api.get(f"/api/account/{tid}/decisions")).json()["total"])


def assert_reused(r: Any) -> None:
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED" and body["error"], body
    assert set(body) == {"error", "code", "request_id"}


async def test_same_body_gets_the_first_decision_another_body_a_422(st: Stack) -> None:
    tid, (first, second) = await _trader(st)
    body = {"binding_id": first, "context": {"note": "a", "n": 1}}
    r = await _trigger(st, tid, "k-1", body)
    assert r.status_code == 200, r.text[:500]
    decision = r.json()["decision_id"]
    again = await _trigger(
        st, tid, "k-1", {"context": {"n": 1.0, "note": "a"}, "binding_id": first}
    )
    assert again.status_code == 200 and again.json()["decision_id"] == decision, again.text[:500]
    for other in (
        {"binding_id": first, "context": {"note": "b", "n": 1}},
        {"binding_id": first, "context": {"note": "a", "n": True}},
        {"binding_id": first, "context": {}},
        {"binding_id": second, "context": {"note": "a", "n": 1}},
    ):
        assert_reused(await _trigger(st, tid, "k-1", other))
    assert await _decision_count(st, tid) == 1  # nothing else ran


async def test_concurrent_requests_with_one_key_and_two_bodies(st: Stack) -> None:
    """Both pass the check before either decision is recorded: the one that did not run is
    told so, it does not get the other's decision."""
    tid, _ = await _trader(st)
    bodies = [{"context": {"who": "a"}}, {"context": {"who": "b"}}]
    for round_no in range(3):
        key = f"race-{round_no}"
        answers = await asyncio.gather(*(_trigger(st, tid, key, b) for b in bodies))
        ok = [(b, r) for b, r in zip(bodies, answers, strict=True) if r.status_code == 200]
        assert len(ok) == 1, [r.text[:300] for r in answers]
        (ran_body, ran), refused = ok[0], next(r for r in answers if r.status_code != 200)
        assert_reused(refused)
        assert ran.json()["record"]["trigger_context"] == ran_body["context"]
    assert await _decision_count(st, tid) == 3


async def test_a_key_only_the_database_remembers_is_still_compared(st: Stack) -> None:
    """A decision recorded under the key `manual-<key>` (e.g. the workflow run that took the
    update has continued as new and forgotten it): another body is refused before it runs."""
    tid, (first, _) = await _trader(st)
    async with st.deps.sessions() as s, s.begin():
        s.add(
            DecisionRecord(
                id=f"dec-{tid}-900",
                account_id=tid,
                seq=900,
                binding_id=first,
                trigger_type="manual",
                trigger_context={"note": "old"},
                status="hold",
                trigger_key="manual-old-key",
            )
        )
    assert_reused(await _trigger(st, tid, "old-key", {"context": {"note": "new"}}))
    assert await _decision_count(st, tid) == 1  # only the recorded one: nothing ran
