"""A local step that runs out of attempts fails its decision, never the trader's workflow.

Market data that stays unreachable exhausts gather_context's attempts (a local activity). A local
activity's last failure reaches the workflow as the activity's own error, not an ActivityError;
uncaught, it would escape the decision and fail `trader-<id>` for good.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Replayer

from runtime.temporal import DATA_CONVERTER
from tests import programs
from tests.support.ports import free_port
from tests.support.stack import full_stack, make_settings
from workflows.trader import TraderWorkflow


async def test_exhausted_local_step_fails_the_decision_not_the_trader(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    dead_feed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every price lookup fails
    settings = make_settings(
        temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=dead_feed
    )
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG, "long"))["id"])
        for _ in range(2):  # and the trader takes the next trigger too
            r = await st.post(f"/api/account/{tid}/trigger")
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["status"] == "failed", out
            assert out["error_code"] == "MARKET_DATA_UNAVAILABLE", out
            assert out["orders"] == []
        handle = st.client.get_workflow_handle(f"trader-{tid}")
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        # The path replays deterministically.
        history = await handle.fetch_history()
        replayer = Replayer(workflows=[TraderWorkflow], data_converter=DATA_CONVERTER)
        await replayer.replay_workflow(history)
