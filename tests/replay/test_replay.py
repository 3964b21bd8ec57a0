"""Deploys are replay-safe: recorded histories of real runs replay against the current code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from domain.trader import POSITION_SYNC_SECONDS, RECONCILE_SECONDS
from runtime.temporal import DATA_CONVERTER
from workflows.patches import BUNDLE_PATCH, BUNDLED, MESSAGE_RULES_PATCH
from workflows.signal_pool import SignalPoolWorkflow
from workflows.trader import TraderWorkflow

HISTORIES = Path(__file__).parent / "histories"
GOOD = sorted(p for p in HISTORIES.glob("*.json") if not p.name.startswith("broken"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))


def _replayer() -> Replayer:
    return Replayer(workflows=[TraderWorkflow, SignalPoolWorkflow], data_converter=DATA_CONVERTER)


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
async def test_recorded_history_replays(path: Path) -> None:
    await _replayer().replay_workflow(_history(path))


def test_histories_cover_the_scenarios() -> None:
    names = {p.stem for p in GOOD}
    assert {
        "happy_path",
        "pause_resume",
        "invalid_input",
        "continue_as_new",
        "invalid_llm_output",
        "order_timeout_reconcile",
        "pool_fire",
        "idle_continue_as_new",
        "idle_continue_as_new_carried",
        "happy_path_bundle",
        "idle_continue_as_new_carried_bundle",
        "decided_once",
        "message_rules",
    } <= names
    for name in ("continue_as_new", "continue_as_new_reconcile", "idle_continue_as_new"):
        cas = json.loads((HISTORIES / f"{name}.json").read_text())
        assert cas["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"


def test_carried_history_starts_from_the_carried_configuration() -> None:
    """idle-continue-as-new-v1: the continued run's input carries the configuration, and the run
    goes straight to waiting (a timer), with no start steps before its first decision."""
    events = json.loads((HISTORIES / "idle_continue_as_new_carried.json").read_text())["events"]
    start = events[0]["workflowExecutionStartedEventAttributes"]
    arg = json.loads(base64.b64decode(start["input"]["payloads"][0]["data"]))
    assert arg["carried"]["bindings"] and arg["state"]["decisions_made"] == 1
    assert events[4]["eventType"] == "EVENT_TYPE_TIMER_STARTED"


def _patch_ids(name: str) -> list[str]:
    ids = []
    for e in json.loads((HISTORIES / f"{name}.json").read_text())["events"]:
        marker = e.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_patch":
            data = marker["details"]["patch-data"]["payloads"][0]["data"]
            ids.append(json.loads(base64.b64decode(data))["id"])
    return ids


def test_bundle_histories_take_the_bundle() -> None:
    """patch-bundle-v1: a fresh run records the bundle's marker only; a run continued as new is
    handed the bundle's patches and records none (their replay is the test above)."""
    assert _patch_ids("happy_path_bundle") == [BUNDLE_PATCH]
    assert len(_patch_ids("happy_path_paper_local")) == 6  # the same run before the bundle
    events = json.loads((HISTORIES / "idle_continue_as_new_carried_bundle.json").read_text())
    start = events["events"][0]["workflowExecutionStartedEventAttributes"]
    arg = json.loads(base64.b64decode(start["input"]["payloads"][0]["data"]))
    assert set(arg["carried"]["patches"]) == BUNDLED
    assert _patch_ids("idle_continue_as_new_carried_bundle") == []


def test_order_timeout_history_takes_the_unknown_path() -> None:
    """The committed history really exercises it: a lost answer settled by resolve_order, one
    still unknown at the bound (ORDER_UNKNOWN, halt), a denied entry, resume, reconciliation."""
    events = json.loads((HISTORIES / "order_timeout_reconcile.json").read_text())["events"]
    calls = []
    for e in events:
        attrs = e.get("activityTaskScheduledEventAttributes")
        if attrs:
            arg = json.loads(base64.b64decode(attrs["input"]["payloads"][0]["data"]))
            calls.append((attrs["activityType"]["name"], arg))
    names = [n for n, _ in calls]
    assert names.count("resolve_order") == 2
    finished = [
        a["status"] + ":" + str(a["error_code"]) for n, a in calls if n == "finish_decision"
    ]
    assert finished == ["executed:None", "failed:ORDER_UNKNOWN", "denied:None"]
    assert [a["reason"] for n, a in calls if n == "sync_account"][-1] == "resume"


async def test_incompatible_history_fails_replay() -> None:
    """Proves the replay test can fail: a history whose commands differ from the code's."""
    with pytest.raises(NondeterminismError):
        await _replayer().replay_workflow(_history(HISTORIES / "broken_incompatible.json"))


def test_reconciliation_runs_periodically_without_positions() -> None:
    """reconcile-v1: with no position open the trader still schedules its next reconciliation
    (RECONCILE_SECONDS); before the patch it had no timer at all."""

    def timers(name: str) -> list[float]:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        return [
            float(e["timerStartedEventAttributes"]["startToFireTimeout"].rstrip("s"))
            for e in events
            if "timerStartedEventAttributes" in e
        ]

    assert timers("pause_resume") == []
    assert any(
        POSITION_SYNC_SECONDS < t <= RECONCILE_SECONDS for t in timers("pause_resume_reconcile")
    )


def test_decided_once_history_has_a_lost_task() -> None:
    """The task that placed the paper order failed after it committed; the rerun is recorded."""
    events = json.loads((HISTORIES / "decided_once.json").read_text())["events"]
    types = [e["eventType"] for e in events]
    assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" in types


def test_message_rules_history_records_its_patch() -> None:
    """message-rules-v1 is recorded where a message is rejected (not in the bundle)."""
    assert MESSAGE_RULES_PATCH in _patch_ids("message_rules")
    assert MESSAGE_RULES_PATCH not in BUNDLED
