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
from workflows.backfill import BackfillWorkflow
from workflows.backtest import ProgramBacktestWorkflow
from workflows.equity import EquitySampleWorkflow, EquityThinWorkflow
from workflows.market_refresh import MarketRefreshWorkflow
from workflows.notify import DailySummaryWorkflow, NotifyWorkflow
from workflows.signal_pool import SignalPoolWorkflow
from workflows.trader import TraderWorkflow

HISTORIES = Path(__file__).parent / "histories"
GOOD = sorted(p for p in HISTORIES.glob("*.json") if not p.name.startswith("broken"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))


def _replayer() -> Replayer:
    return Replayer(
        workflows=[
            TraderWorkflow,
            SignalPoolWorkflow,
            EquitySampleWorkflow,
            EquityThinWorkflow,
            NotifyWorkflow,
            DailySummaryWorkflow,
            MarketRefreshWorkflow,
            BackfillWorkflow,
            ProgramBacktestWorkflow,
        ],
        data_converter=DATA_CONVERTER,
    )


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
        "decided_once",
        "message_rules",
        "equity_sample",
        "equity_thin",
        "circuit_breaker",
        "manual_orders",
        "notify_pass",
        "daily_summary",
        "market_refresh",
        "backfill",
        "backtest",
        "backtest_cancelled",
    } <= names
    for name in ("continue_as_new", "idle_continue_as_new"):
        cas = json.loads((HISTORIES / f"{name}.json").read_text())
        assert cas["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"


def test_no_history_records_a_patch_yet() -> None:
    """0.2.0 is the compatibility baseline: its histories carry no patch marker. A workflow
    change after it adds a `workflow.patched` branch, and its recorded history shows it here."""
    assert all(_patch_ids(p.stem) == [] for p in GOOD)


def test_carried_history_starts_from_the_carried_configuration() -> None:
    """The continued run's input carries the configuration, and the run goes straight to
    waiting (a timer), with no start steps before its first decision."""
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


def test_order_timeout_history_takes_the_unknown_path() -> None:
    """The committed history really exercises it: a lost answer settled by resolve_order, one
    still unknown at the bound (ORDER_UNKNOWN, halt), a denied entry, resume, reconciliation."""
    events = json.loads((HISTORIES / "order_timeout_reconcile.json").read_text())["events"]
    scheduled = []  # normal activities: their inputs are in history
    finished = []  # finish_decision is a local activity: its result is in its marker
    for e in events:
        attrs = e.get("activityTaskScheduledEventAttributes")
        if attrs:
            arg = json.loads(base64.b64decode(attrs["input"]["payloads"][0]["data"]))
            scheduled.append((attrs["activityType"]["name"], arg))
        marker = e.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_local_activity":
            details = marker["details"]
            name = json.loads(base64.b64decode(details["data"]["payloads"][0]["data"]))
            if name["activity_type"] == "finish_decision":
                out = json.loads(base64.b64decode(details["result"]["payloads"][0]["data"]))
                finished.append(f"{out['status']}:{out['error_code']}")
    names = [n for n, _ in scheduled]
    assert names.count("resolve_order") == 2
    assert finished == ["executed:None", "failed:ORDER_UNKNOWN", "denied:None"]
    assert [a["reason"] for n, a in scheduled if n == "sync_account"][-1] == "resume"


async def test_incompatible_history_fails_replay() -> None:
    """Proves the replay test can fail: a history whose commands differ from the code's."""
    with pytest.raises(NondeterminismError):
        await _replayer().replay_workflow(_history(HISTORIES / "broken_incompatible.json"))


def test_reconciliation_runs_periodically_without_positions() -> None:
    """With no position open the trader still schedules its next reconciliation."""
    events = json.loads((HISTORIES / "pause_resume.json").read_text())["events"]
    timers = [
        float(e["timerStartedEventAttributes"]["startToFireTimeout"].rstrip("s"))
        for e in events
        if "timerStartedEventAttributes" in e
    ]
    assert any(POSITION_SYNC_SECONDS < t <= RECONCILE_SECONDS for t in timers), timers


def test_decided_once_history_has_a_lost_task() -> None:
    """The task that placed the paper order failed after it committed; the rerun is recorded."""
    events = json.loads((HISTORIES / "decided_once.json").read_text())["events"]
    types = [e["eventType"] for e in events]
    assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" in types


def test_message_rules_history_has_its_rejections() -> None:
    """The malformed pause and the stop to a live trader are recorded as rejected notes."""
    events = json.loads((HISTORIES / "message_rules.json").read_text())["events"]
    notes = []
    for e in events:
        marker = e.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_local_activity":
            data = json.loads(base64.b64decode(marker["details"]["data"]["payloads"][0]["data"]))
            notes.append(data.get("activity_type"))
    assert notes.count("record_note") >= 2, notes
