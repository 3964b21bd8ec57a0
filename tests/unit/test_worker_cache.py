"""The worker's record of each cached run, and which runs count as idle (worker_cache)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.bridge.proto.workflow_activation import (
    RemoveFromCache,
    ResolveActivity,
    WorkflowActivation,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import (
    ScheduleLocalActivity,
    StartTimer,
    WorkflowCommand,
)
from temporalio.bridge.proto.workflow_completion import Success, WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance

import runtime.worker_cache as worker_cache
from runtime.worker_cache import IdleEviction, RunState, TrackingRunner, _TrackedInstance
from tests.support.clocks import ScriptedIntervals, ScriptEnded


class _Instance(WorkflowInstance):
    def __init__(self) -> None:
        self.next: list[WorkflowCommand] = []
        self.seen: list[WorkflowActivation] = []

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        self.seen.append(act)
        commands, self.next = self.next, []
        return WorkflowActivationCompletion(
            run_id=act.run_id, successful=Success(commands=commands)
        )

    def get_serialization_context(self, command_info: Any) -> Any:
        return None

    def get_external_store_context(self, command_info: Any) -> Any:
        return None

    def get_info(self) -> Any:
        return None


def _local(seq: int) -> WorkflowCommand:
    return WorkflowCommand(schedule_local_activity=ScheduleLocalActivity(seq=seq))


def _resolved(seq: int, local: bool = True) -> WorkflowActivationJob:
    return WorkflowActivationJob(resolve_activity=ResolveActivity(seq=seq, is_local=local))


def test_a_run_is_noted_with_its_history_and_open_local_activities() -> None:
    runs: dict[str, RunState] = {}
    inner = _Instance()
    tracked = _TrackedInstance(inner, "run-1", runs)
    state = runs["run-1"]

    inner.next = [_local(1), _local(2)]
    tracked.activate(WorkflowActivation(run_id="run-1", history_length=3))
    assert state.local_activities == {1, 2} and state.history_length == 3 and state.steps == 2

    inner.next = [WorkflowCommand(start_timer=StartTimer(seq=1))]
    first = state.last_activation
    tracked.activate(
        WorkflowActivation(
            run_id="run-1", history_length=3, jobs=[_resolved(1), _resolved(2, local=False)]
        )
    )
    assert state.local_activities == {2}  # a normal activity's seq 2 is another activity
    assert state.last_activation >= first and not state.activating
    assert len(inner.seen) == 2  # every activation reached the real instance

    tracked.activate(
        WorkflowActivation(
            run_id="run-1", jobs=[WorkflowActivationJob(remove_from_cache=RemoveFromCache())]
        )
    )
    assert runs == {}  # evicted: no longer counted as cached


def test_an_eviction_of_an_old_instance_keeps_the_new_one() -> None:
    runs: dict[str, RunState] = {}
    old = _TrackedInstance(_Instance(), "run-1", runs)
    new_state = _TrackedInstance(_Instance(), "run-1", runs)._state
    old.activate(
        WorkflowActivation(
            run_id="run-1", jobs=[WorkflowActivationJob(remove_from_cache=RemoveFromCache())]
        )
    )
    assert runs["run-1"] is new_state


class _Bridge:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def request_workflow_eviction(self, run_id: str) -> None:
        self.asked.append(run_id)


def test_quiet_runs_are_evicted_once_and_busy_or_long_ones_never() -> None:
    runner = TrackingRunner(inner=None)  # type: ignore[arg-type]
    now = 1000.0
    long_run = worker_cache.LONG_RUN_EVENTS + 1
    runner.runs = {
        "waited-only": RunState(last_activation=now - 20, history_length=5),
        "decided": RunState(last_activation=now - 20, history_length=30, steps=6),
        "decided-long-ago": RunState(last_activation=now - 70, history_length=30, steps=6),
        "recent": RunState(last_activation=now - 5, history_length=5),
        "long": RunState(last_activation=now - 70, history_length=long_run, steps=90),
        "waiting-local": RunState(
            last_activation=now - 70, history_length=9, steps=1, local_activities={3}
        ),
        "activating": RunState(last_activation=now - 70, history_length=5, activating=True),
    }
    eviction = IdleEviction(runner, idle_s=60)
    bridge = eviction._bridge = _Bridge()
    assert eviction.sweep(now) == 2
    assert bridge.asked == ["waited-only", "decided-long-ago"]
    # Later: each run is asked for once; a long run, or one waiting for a local activity or in
    # an activation, stays however long it has been quiet.
    assert eviction.sweep(now + 100) == 2
    assert bridge.asked[2:] == ["decided", "recent"]


async def test_evicted_memory_goes_back_only_once_the_worker_is_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sweeps every 5 s; each interval's CPU is scripted (quiet: under 2 % of a core, 0.1 s).
    worker = ScriptedIntervals([0.0, 0.5, 0.0, 0.0])
    released: list[int] = []
    monkeypatch.setattr(worker_cache, "release_memory", lambda: released.append(worker.interval))
    runner = TrackingRunner(inner=None)  # type: ignore[arg-type]
    runner.runs = {"idle": RunState(last_activation=worker.now - 100, history_length=5)}
    eviction = IdleEviction(runner, idle_s=60)
    bridge = eviction._bridge = _Bridge()
    with pytest.raises(ScriptEnded):
        await eviction.run(every_s=5, clock=worker.clock)
    assert bridge.asked == ["idle"]  # evicted at the first sweep
    # Not at the second sweep (busy: no collection pause for busy traders); at the first quiet
    # one after it; then not again, nothing was evicted since.
    assert released == [3]
