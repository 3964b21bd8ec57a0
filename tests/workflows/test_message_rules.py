"""One rule for every message to a trader: rejected means no effect.

A malformed `pause` used to be recorded as rejected *and* pause the trader; the undocumented
`stop` signal ended the workflow of a trader the API still showed Active. Now a message that is
rejected changes nothing, and `stop` only ends the workflow of a trader that is deleted.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually


async def _rejected(st: Stack, tid: int, n: int) -> list[dict]:
    async def rows() -> list[dict]:
        items = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
        found = [d for d in items if d["status"] == "rejected_input"]
        return found if len(found) >= n else []

    return await eventually(rows)


async def _live_trader(st: Stack) -> int:
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    return tid


async def test_a_malformed_pause_is_rejected_and_does_not_pause(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = await _live_trader(st)
        h = st.client.get_workflow_handle(f"trader-{tid}")
        await h.signal("pause", {"reason": ["not", "a", "string"]})
        (row,) = await _rejected(st, tid, 1)
        assert row["trigger_type"] == "pause" and "reason" in row["error"], row
        status = await h.query("status")
        assert status["paused"] is False, status
        r = await st.post(f"/api/account/{tid}/trigger")  # still trading
        assert r.status_code == 200 and r.json()["status"] == "hold", r.text


async def test_a_resume_with_a_payload_it_does_not_take_is_rejected(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = (await st.create_trader())["account_id"]  # starts paused
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        await st.post(f"/api/account/{tid}/pause")
        h = st.client.get_workflow_handle(f"trader-{tid}")
        await h.signal("resume", "now please")
        await _rejected(st, tid, 1)
        assert (await h.query("status"))["paused"] is True


async def test_stop_on_a_trader_that_is_not_deleted_is_rejected(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = await _live_trader(st)
        h = st.client.get_workflow_handle(f"trader-{tid}")
        await h.signal("stop")
        (row,) = await _rejected(st, tid, 1)
        assert row["trigger_type"] == "stop" and "not deleted" in row["error"], row
        assert (await h.describe()).status is WorkflowExecutionStatus.RUNNING
        assert (await st.api.get(f"/api/account/{tid}")).json()["status"] == "Active"
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.status_code == 200 and r.json()["status"] == "hold", r.text


async def test_delete_still_ends_the_workflow(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = await _live_trader(st)
        r = await st.api.delete(f"/api/account/{tid}")
        assert r.status_code == 200, r.text
        h = st.client.get_workflow_handle(f"trader-{tid}")

        async def ended() -> bool:
            return (await h.describe()).status is WorkflowExecutionStatus.COMPLETED

        await eventually(ended)
