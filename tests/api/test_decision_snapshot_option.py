"""Decisions come compact by default: the input snapshot (~70 KB of prices, candles and
positions per decision) is in the decision log and the trigger's answer only when asked for
with include_snapshot=true; one decision read by its id always has it."""

from __future__ import annotations

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings

COMPACT_BYTES = 8_000  # a decision without its snapshot; with it, ~70 KB


async def test_snapshot_only_when_asked_for(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
        tid = (await st.create_trader(trading_enabled=True))["id"]
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        trigger, log = f"/api/account/{tid}/trigger", f"/api/account/{tid}/decisions"

        compact = await st.post(trigger)
        assert compact.status_code == 200, compact.text[:500]
        assert compact.json()["record"]["input_snapshot"] is None
        assert len(compact.content) < COMPACT_BYTES
        full = await st.post(trigger, params={"include_snapshot": "true"})
        assert full.json()["record"]["input_snapshot"]["prices"]["BTC"]

        items = (await st.api.get(log)).json()["items"]
        assert len(items) == 2 and all(d["input_snapshot"] is None for d in items)
        items = (await st.api.get(log, params={"include_snapshot": "true"})).json()["items"]
        assert all(d["input_snapshot"]["prices"]["BTC"] for d in items)

        one = (await st.api.get(f"{log}/{compact.json()['decision_id']}")).json()
        assert one["input_snapshot"]["prices"]["BTC"]
