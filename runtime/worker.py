"""The worker process: trader and signal-pool workflows with their activities (`hyperoru worker`,
or `python worker.py` from a checkout)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import (
    Interceptor,
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from config.settings import Settings, get_settings
from db.session import make_engine, make_sessionmaker
from runtime.deps import Deps, default_deps
from runtime.event_retention import trim_events
from runtime.gc_policy import collect_when_idle, tune_gc
from runtime.schedules import ensure_schedules
from runtime.secrets_check import require_openable_secrets
from runtime.temporal import connect
from runtime.wiring import (
    build_activities,
    build_backfill_activities,
    build_backtest_activities,
    build_notify_activities,
    build_pool_activities,
)
from runtime.worker_cache import IdleEviction, TrackingRunner
from sandbox import zygote_client
from vault.redact import QueryStringRedactor
from workflows.backfill import BackfillWorkflow
from workflows.backtest import ProgramBacktestWorkflow
from workflows.equity import EquitySampleWorkflow, EquityThinWorkflow
from workflows.market_refresh import MarketRefreshWorkflow
from workflows.notify import DailySummaryWorkflow, DeliverNowWorkflow, NotifyWorkflow
from workflows.prompt_backtest import PromptBacktestWorkflow
from workflows.signal_pool import SignalPoolWorkflow
from workflows.trader import TraderWorkflow

log = logging.getLogger("hyperoru.worker")

# Pools run three short activities each; a few slots keep several pools' fires concurrent.
POOL_ACTIVITY_SLOTS = 16
# How often idle runs are looked for, at most (an idle run leaves the cache up to this late).
EVICTION_SWEEP_S = 5.0
# Backfill pages in flight at once per worker (each venue is paced one request at a time anyway).
BACKFILL_ACTIVITY_SLOTS = 4


def workflow_runner(mode: str) -> WorkflowRunner:
    if mode == "off":
        return UnsandboxedWorkflowRunner()
    restrictions = SandboxRestrictions.default
    if mode == "shared":
        # Why pass workflows/ through: one copy of the orchestration code for all traders
        # instead of one per cached workflow (the largest per-trader memory cost).
        restrictions = restrictions.with_passthrough_modules("workflows")
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(
    client: Client,
    settings: Settings,
    deps: Deps,
    runner: WorkflowRunner | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        interceptors=interceptors,  # tests inject faults here (tests/support/faults.py)
        workflows=[TraderWorkflow, SignalPoolWorkflow, EquitySampleWorkflow, EquityThinWorkflow],
        workflow_runner=runner or workflow_runner(settings.worker_workflow_sandbox),
        activities=build_activities(deps),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        # Why a large cache: every active trader stays warm, so a signal never pays a replay.
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
            settings.worker_workflow_task_polls
        ),
        graceful_shutdown_timeout=timedelta(seconds=10),
        # Why 3 s: after a worker dies, its sticky queue is abandoned this fast (default 10 s)
        # and the trader's next task goes to a live worker.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


def build_pool_worker(client: Client, settings: Settings, deps: Deps) -> Worker:
    # Why a second worker: its own pollers, slots and sticky queue, so a pool fire is
    # evaluated and fanned out while the trader queue works through the decisions it caused.
    return Worker(
        client,
        task_queue=settings.pools_task_queue,
        workflows=[SignalPoolWorkflow],
        workflow_runner=workflow_runner(settings.worker_workflow_sandbox),
        activities=build_pool_activities(deps),
        max_concurrent_activities=POOL_ACTIVITY_SLOTS,
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


# Deliveries in flight at once on one worker (each is one HTTP request).
NOTIFY_ACTIVITY_SLOTS = 32


def build_notify_worker(client: Client, settings: Settings, deps: Deps) -> Worker:
    # Why a third worker: the notifier's own queue, pollers and slots, so a receiver that
    # hangs or a burst of deliveries never takes a slot a trader's decision needs.
    return Worker(
        client,
        task_queue=settings.notify_task_queue,
        workflows=[NotifyWorkflow, DailySummaryWorkflow, DeliverNowWorkflow],
        workflow_runner=workflow_runner(settings.worker_workflow_sandbox),
        activities=build_notify_activities(deps),
        max_concurrent_activities=NOTIFY_ACTIVITY_SLOTS,
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


def build_backfill_worker(client: Client, settings: Settings, deps: Deps) -> Worker:
    # Why a worker of its own: backfills fetch and store history for minutes at a time; on
    # their own queue with a few slots, they never hold a slot or a poller a trader needs.
    return Worker(
        client,
        task_queue=settings.backfill_task_queue,
        workflows=[BackfillWorkflow, MarketRefreshWorkflow],
        workflow_runner=workflow_runner(settings.worker_workflow_sandbox),
        activities=build_backfill_activities(deps, settings),
        max_concurrent_activities=BACKFILL_ACTIVITY_SLOTS,
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


def build_backtest_worker(client: Client, settings: Settings, deps: Deps) -> Worker:
    # Why a worker of its own with few slots: a backtest replays thousands of decisions through
    # the sandbox (a program) or its model (a prompt) back to back; on its own queue and slots
    # it never holds a slot, a poller or a sandbox run a live trader needs (spec 8.1 P5).
    # `backtest_max_concurrent` runs at once, plus one slot for the short bookkeeping
    # activities (a run's final status, a prompt task's start and finish), so they never wait
    # behind a year-long run.
    return Worker(
        client,
        task_queue=settings.backtest_task_queue,
        workflows=[ProgramBacktestWorkflow, PromptBacktestWorkflow],
        workflow_runner=workflow_runner(settings.worker_workflow_sandbox),
        activities=build_backtest_activities(deps, settings),
        max_concurrent_activities=settings.backtest_max_concurrent + 1,
        # Why heartbeats sent at least every second: a cancellation reaches a running backtest
        # only in the answer to a heartbeat; the SDK otherwise throttles them up to 0.8 x the
        # (generous) heartbeat timeout, and a cancelled run would go on for that long.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
    )


@asynccontextmanager
async def running_workers(
    client: Client, settings: Settings, deps: Deps, interceptors: Sequence[Interceptor] = ()
) -> AsyncIterator[TrackingRunner]:
    """The workers of this process: traders (and pools started before they had their own
    queue) on `task_queue`, signal pools on `pools_task_queue`, the notifier on
    `notify_task_queue`, backfills on `backfill_task_queue`, backtests on
    `backtest_task_queue`. Idle traders' short runs leave
    the trader worker's cache after `worker_evict_idle_seconds` (see worker_cache); the live
    stream's events older than `events_retention_hours` are trimmed (see event_retention)."""
    runner = TrackingRunner(workflow_runner(settings.worker_workflow_sandbox))
    traders = build_worker(client, settings, deps, runner, interceptors)
    pools, notify, backfills, backtests = (
        build_pool_worker(client, settings, deps),
        build_notify_worker(client, settings, deps),
        build_backfill_worker(client, settings, deps),
        build_backtest_worker(client, settings, deps),
    )
    async with traders, pools, notify, backfills, backtests:
        await _ensure_schedules(client, settings)
        retention = timedelta(hours=settings.events_retention_hours)
        housekeeping = [asyncio.create_task(trim_events(deps.sessions, retention))]
        idle_s = settings.worker_evict_idle_seconds
        if idle_s > 0:
            eviction = IdleEviction(runner, idle_s)
            eviction.bind(traders)
            every_s = min(EVICTION_SWEEP_S, max(0.5, idle_s / 2))
            housekeeping.append(asyncio.create_task(eviction.run(every_s)))
        try:
            yield runner
        finally:
            for task in housekeeping:
                task.cancel()


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    # Why not fatal: the periodic jobs (equity samples) matter less than trading; the next
    # worker start tries again.
    try:
        await ensure_schedules(client, settings)
    except Exception:
        log.exception("could not create or update the periodic jobs' schedules")


async def main(interceptors: Sequence[Interceptor] = ()) -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:  # e.g. a venue's signed URL in an error
        handler.addFilter(QueryStringRedactor())
    require_openable_secrets(settings, "worker")
    engine = make_engine(settings.resolved_database_url)
    client = await connect(settings)
    deps = default_deps(settings, make_sessionmaker(engine), client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queues %s, %s, %s and %s on %s",
        settings.task_queue,
        settings.pools_task_queue,
        settings.backfill_task_queue,
        settings.backtest_task_queue,
        settings.resolved_temporal_address,
    )
    if settings.sandbox_mode == "fork":
        try:  # pre-warm, so the first decision does not pay for it; a run retries anyway
            await zygote_client.get_zygote()
        except Exception:
            log.exception("could not start the sandbox zygote; it is retried on first use")
    tune_gc()
    collector = asyncio.create_task(collect_when_idle())
    async with running_workers(client, settings, deps, interceptors):
        await stop.wait()
    collector.cancel()
    zygote_client.shutdown()
    await engine.dispose()


def run(interceptors: Sequence[Interceptor] = ()) -> None:
    asyncio.run(main(interceptors))
    # Why os._exit: the Temporal SDK can abort at interpreter shutdown (sdk-python#300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    run()
