"""The trader's `last_error` (status query) is cleared by a later successful decision, as its
Error status is; it used to stay set forever after the first failure."""

from __future__ import annotations

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings


async def test_a_later_success_clears_last_error(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = (await st.create_trader(trading_enabled=True))["account_id"]
        failing = await st.bind(tid, (await st.create_program(programs.RAISES, "raises"))["id"])
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.json()["status"] == "failed", r.text
        h = st.client.get_workflow_handle(f"trader-{tid}")
        status = await h.query("status")
        assert status["status"] == "Error" and "PROGRAM_ERROR" in status["last_error"], status
        await st.api.delete(f"/api/account/{tid}/bindings/{failing['id']}")
        await st.bind(tid, (await st.create_program(programs.HOLD, "hold"))["id"])
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.json()["status"] == "hold", r.text
        status = await h.query("status")
        assert status["status"] == "Active" and status["last_error"] is None, status
