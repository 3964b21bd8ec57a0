"""The Temporal Schedules of the worker's periodic jobs, created (or brought up to date) by every
worker at start: the equity sample (every HYPERORU_EQUITY_SAMPLE_SECONDS) and the thinning of
old equity points (every HYPERORU_EQUITY_THIN_SECONDS); see workflows/equity.py for why. And
the notifier's (every HYPERORU_NOTIFY_POLL_SECONDS) and the daily summary (at
HYPERORU_NOTIFY_DAILY_SUMMARY_TIME, UTC), on the notifier's own task queue (workflows/notify.py).
The market-history refresh (every HYPERORU_MARKET_REFRESH_SECONDS, domain/market_refresh.py), on
the backfill queue.

Idempotent: a schedule that exists is updated to the settings, keeping its state (an operator's
pause stays), so several workers, restarts and a changed interval all converge on one schedule
per job. A job set to 0 is off: its schedule is deleted.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.equity import EquitySampleInput
from domain.market_refresh import DAY_MS, MarketRefreshInput
from domain.notifications import DeliveryPolicy, NotifyInput, SummaryInput

log = logging.getLogger("hyperoru.worker")

EQUITY_SAMPLE_SCHEDULE = "equity-sample"
EQUITY_THIN_SCHEDULE = "equity-thin"
NOTIFY_SCHEDULE = "notify"
DAILY_SUMMARY_SCHEDULE = "notify-daily-summary"
MARKET_REFRESH_SCHEDULE = "market-refresh"


def _schedule(
    workflow: str, args: list[Any], every_s: int, task_queue: str, timeout: timedelta
) -> Schedule:
    every = timedelta(seconds=every_s)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,
            args=args,
            id=workflow,  # the schedule appends each tick's time
            task_queue=task_queue,
            # A tick that found no worker gives way to the next one instead of waiting forever.
            execution_timeout=timeout,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,  # one pass at a time
            catchup_window=max(every, timedelta(seconds=10)),  # missed ticks are not replayed
        ),
    )


def equity_schedules(settings: Settings) -> dict[str, Schedule | None]:
    """Each periodic job's schedule as the settings want it (None: off)."""
    sample, thin = settings.equity_sample_seconds, settings.equity_thin_seconds
    queue = settings.task_queue
    return {
        EQUITY_SAMPLE_SCHEDULE: _schedule(
            "EquitySampleWorkflow",
            [EquitySampleInput()],
            sample,
            queue,
            timedelta(seconds=max(5 * sample, 300)),
        )
        if sample
        else None,
        EQUITY_THIN_SCHEDULE: _schedule(
            "EquityThinWorkflow", [], thin, queue, timedelta(seconds=max(thin, 3600))
        )
        if thin
        else None,
    }


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        http_timeout_s=settings.notify_http_timeout_seconds,
        initial_retry_s=settings.notify_retry_initial_seconds,
        max_retry_s=settings.notify_retry_max_seconds,
        max_attempts=settings.notify_max_attempts,
    )


def notify_schedules(settings: Settings) -> dict[str, Schedule | None]:
    """The notifier's pass and the daily summary as the settings want them (None: off)."""
    poll, at = settings.notify_poll_seconds, settings.notify_daily_summary_time
    queue, policy = settings.notify_task_queue, delivery_policy(settings)
    # A pass may wait out a receiver's retries; past this it gives way to the next tick (its
    # pending deliveries are picked up again there).
    timeout = timedelta(hours=1)
    notify = (
        _schedule("NotifyWorkflow", [NotifyInput(policy=policy)], poll, queue, timeout)
        if poll
        else None
    )
    summary = None
    if at:
        hour, minute = (int(p) for p in at.split(":"))
        summary = Schedule(
            action=ScheduleActionStartWorkflow(
                "DailySummaryWorkflow",
                args=[SummaryInput(policy=policy)],
                id="DailySummaryWorkflow",
                task_queue=queue,
                execution_timeout=timeout,
            ),
            spec=ScheduleSpec(
                calendars=[
                    ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])
                ]
            ),
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP,
                # A worker down at the time still sends the day's summary when it is back
                # (once: a summary is recorded once per channel and day).
                catchup_window=timedelta(hours=12),
            ),
        )
    return {NOTIFY_SCHEDULE: notify, DAILY_SUMMARY_SCHEDULE: summary}


def market_refresh_schedules(settings: Settings) -> dict[str, Schedule | None]:
    """The market-history refresh (domain/market_refresh.py) as the settings want it."""
    every = settings.market_refresh_seconds
    days = settings.open_interest_retention_days
    args = [MarketRefreshInput(open_interest_retention_ms=days * DAY_MS)]
    queue = settings.backfill_task_queue  # where the venue client and its politeness live
    timeout = timedelta(seconds=max(every, 900))
    refresh = _schedule("MarketRefreshWorkflow", args, every, queue, timeout) if every else None
    return {MARKET_REFRESH_SCHEDULE: refresh}


async def ensure_schedules(client: Client, settings: Settings) -> None:
    wanted_all = {
        **equity_schedules(settings),
        **notify_schedules(settings),
        **market_refresh_schedules(settings),
    }
    for schedule_id, wanted in wanted_all.items():
        await _ensure(client, schedule_id, wanted)


async def _ensure(client: Client, schedule_id: str, wanted: Schedule | None) -> None:
    handle = client.get_schedule_handle(schedule_id)
    if wanted is None:
        try:
            await handle.delete()
            log.info("schedule %s deleted (turned off in the settings)", schedule_id)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        return
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("schedule %s created", schedule_id)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(
            schedule=dataclasses.replace(wanted, state=current.description.schedule.state)
        )

    await handle.update(update)
