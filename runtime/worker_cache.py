"""Which trader runs the worker keeps cached: the active ones, not the idle ones.

A cached run costs the worker memory whether or not the trader ever trades again: Temporal
core's record of the run and the workflow's Python objects, ~65 KB (measured with 1,000 traders:
85 of the worker's 196 MB). A run with no activation for `idle_s` is evicted from the cache;
its next signal or timer replays it from history, on any worker. History is the record and the
cache only saves replays, so evicting a run never changes what it does (the replay gate checks
that every workflow change replays).

A replay costs about what the run's steps cost the worker the first time (a run with one
decision: about one more decision's worth), but a run that has not scheduled a step yet costs
one activation to replay. That is the run an idle trader continues into (after
`idle_continue_as_new_seconds`): it goes after `WAITING_RUN_IDLE_S` already.

Only worker-side bookkeeping lives here: `TrackingRunner` wraps the real runner and notes, per
run, when it last ran, how long its history is, its steps, and the local activities it waits for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner

from runtime.gc_policy import SYSTEM_CLOCK, Clock, release_memory

log = logging.getLogger("hyperoru.worker_cache")

# A run that has only waited so far leaves the cache after this long quiet (or `idle_s`, if
# shorter): its replay is one activation.
WAITING_RUN_IDLE_S = 15.0
# The freed memory goes back to the system once the worker has used under this share of a core
# over a sweep: a full collection pauses every trader on the worker (50-150 ms with 1,000).
QUIET_CPU_SHARE = 0.02
# Longer runs stay cached however quiet: a replay walks every event again. A trader's run
# continues as new well before this when it idles (a sync-only run at 100 events).
LONG_RUN_EVENTS = 200


@dataclass
class RunState:
    last_activation: float = field(default_factory=time.monotonic)
    history_length: int = 0
    steps: int = 0  # activities (local or not) this run has scheduled
    local_activities: set[int] = field(default_factory=set)  # scheduled, not yet resolved
    activating: bool = False
    evicting: bool = False


class _TrackedInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, run_id: str, runs: dict[str, RunState]) -> None:
        self._inner = inner
        self._run_id = run_id
        self._runs = runs
        self._state = runs[run_id] = RunState()

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        state = self._state
        state.activating = True
        try:
            completion = self._inner.activate(act)
        finally:
            state.activating = False
            state.last_activation = time.monotonic()
        state.history_length = act.history_length
        for job in act.jobs:
            kind = job.WhichOneof("variant")
            if kind == "resolve_activity" and job.resolve_activity.is_local:
                state.local_activities.discard(job.resolve_activity.seq)
            elif kind == "remove_from_cache" and self._runs.get(self._run_id) is state:
                del self._runs[self._run_id]
        for command in completion.successful.commands:
            command_kind = command.WhichOneof("variant")
            if command_kind == "schedule_local_activity":
                state.local_activities.add(command.schedule_local_activity.seq)
                state.steps += 1
            elif command_kind == "schedule_activity":
                state.steps += 1
        return completion

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


class TrackingRunner(WorkflowRunner):
    """The worker's workflow runner (sandboxed or not), noting each run's activity."""

    def __init__(self, inner: WorkflowRunner) -> None:
        self.inner = inner
        self.runs: dict[str, RunState] = {}

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _TrackedInstance(self.inner.create_instance(det), det.info.run_id, self.runs)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)


class IdleEviction:
    """Evicts the worker's runs quiet for `idle_s` seconds; the memory goes back to the system
    once the worker is quiet (never a collection pause for busy traders)."""

    def __init__(self, runner: TrackingRunner, idle_s: float) -> None:
        self.runner = runner
        self.idle_s = idle_s
        self._bridge: Any = None

    def bind(self, worker: Worker) -> None:
        # Why a private attribute: temporalio has no public call to evict one run, only the
        # core's (request_workflow_eviction, which the SDK itself uses). temporalio is pinned,
        # and tests/workflows/test_worker_cache.py fails if this moves.
        self._bridge = worker._bridge_worker

    def idle_runs(self, now: float) -> list[str]:
        waiting_s = min(WAITING_RUN_IDLE_S, self.idle_s)
        return [
            run_id
            for run_id, s in list(self.runner.runs.items())
            if not (s.evicting or s.activating or s.local_activities)
            and s.history_length <= LONG_RUN_EVENTS
            and now - s.last_activation >= (self.idle_s if s.steps else waiting_s)
        ]

    def sweep(self, now: float) -> int:
        """Ask the core to evict every idle run; it does so between activations."""
        idle = self.idle_runs(now)
        for run_id in idle:
            self.runner.runs[run_id].evicting = True
            self._bridge.request_workflow_eviction(run_id)
        return len(idle)

    async def run(self, every_s: float = 5.0, clock: Clock = SYSTEM_CLOCK) -> None:
        release = False  # runs were evicted since the last release
        cpu = clock.cpu()
        while True:
            await clock.sleep(every_s)
            cpu, last_cpu = clock.cpu(), cpu
            if release and cpu - last_cpu < QUIET_CPU_SHARE * every_s:
                release_memory()
                release = False
            evicted = self.sweep(clock.wall())
            if evicted:
                log.info("evicting %d idle trader runs from the worker cache", evicted)
                release = True
