"""One patch marker per fresh run (the bundle), none in a run continued as new."""

from __future__ import annotations

import json

from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually
from workflows.patches import BUNDLE_PATCH, BUNDLED


async def _patch_ids(st: Stack, tid: int, run_id: str) -> list[str]:
    h = st.client.get_workflow_handle(f"trader-{tid}", run_id=run_id)
    ids = []
    for e in (await h.fetch_history()).events:
        marker = e.marker_recorded_event_attributes
        if e.HasField("marker_recorded_event_attributes") and marker.marker_name == "core_patch":
            ids.append(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


async def test_a_fresh_run_records_one_marker_and_a_continued_run_none(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, idle_continue_as_new_seconds=1)
    async with full_stack(None, settings) as st:
        tid = int((await st.create_trader(trading_enabled=True))["account_id"])
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        handle = st.client.get_workflow_handle(f"trader-{tid}")
        first = (await handle.describe()).run_id
        # Start steps and a decision that places a paper order: every patched path is taken.
        r = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert r["status"] == "executed", r

        async def moved() -> bool:
            return (await handle.describe()).run_id != first

        await eventually(moved, timeout=30)
        assert await _patch_ids(st, tid, first) == [BUNDLE_PATCH]

        second = (await handle.describe()).run_id
        r = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert r["status"] == "executed" and r["decision_id"] == f"dec-{tid}-2", r
        # The continued run was handed the bundle's patches: its order went the local path
        # and it recorded no marker at all.
        assert await _patch_ids(st, tid, second) == []
        history = await st.client.get_workflow_handle(
            f"trader-{tid}", run_id=second
        ).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        carried = json.loads(started.input.payloads[0].data)["carried"]
        assert set(carried["patches"]) == BUNDLED
        markers = [
            e.marker_recorded_event_attributes.marker_name
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert markers.count("core_local_activity") >= 5  # the decision's steps, all local
