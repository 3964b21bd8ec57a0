"""Scheduled triggers as pure state transitions; the workflow supplies `now` and sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.trader import PendingTrigger, ScheduleState, TriggerType


def reconcile(
    current: list[ScheduleState], intervals: dict[int, int | None], now: datetime
) -> list[ScheduleState]:
    """Schedules for the bindings' intervals; unchanged ones keep their next due time."""
    old = {s.binding_id: s for s in current}
    fresh: list[ScheduleState] = []
    for binding_id, interval in intervals.items():
        if not interval:
            continue
        prev = old.get(binding_id)
        if prev and prev.interval_seconds == interval:
            fresh.append(prev)
        else:
            fresh.append(
                ScheduleState(
                    binding_id=binding_id,
                    interval_seconds=interval,
                    next_due=now + timedelta(seconds=interval),
                )
            )
    return fresh


def until_next_due(schedules: list[ScheduleState], now: datetime) -> timedelta | None:
    if not schedules:
        return None
    return max(min(s.next_due for s in schedules) - now, timedelta(0))


def restart(schedules: list[ScheduleState], now: datetime) -> None:
    """After a pause, count every interval afresh from now."""
    for sched in schedules:
        sched.next_due = now + timedelta(seconds=sched.interval_seconds)


def take_due(
    schedules: list[ScheduleState], pending: list[PendingTrigger], now: datetime
) -> list[PendingTrigger]:
    """Triggers for the schedules that are due, advancing them.

    A schedule already waiting in the queue is not queued twice, and missed ticks (worker down,
    paused) are not replayed: the next tick is always in the future.
    """
    due: list[PendingTrigger] = []
    for sched in schedules:
        if sched.next_due > now:
            continue
        prefix = f"schedule-{sched.binding_id}@"
        if not any(p.key.startswith(prefix) for p in pending + due):
            due.append(
                PendingTrigger(
                    key=f"{prefix}{sched.next_due.isoformat()}",
                    type=TriggerType.SCHEDULE,
                    binding_id=sched.binding_id,
                    context={
                        "interval_seconds": sched.interval_seconds,
                        "due_at": sched.next_due.isoformat(),
                    },
                )
            )
        sched.next_due = now + timedelta(seconds=sched.interval_seconds)
    return due
