from datetime import UTC, datetime, timedelta

from domain import schedules
from domain.trader import ScheduleState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_reconcile_keeps_unchanged_and_drops_removed() -> None:
    kept = ScheduleState(binding_id=1, interval_seconds=60, next_due=T0 + timedelta(seconds=5))
    out = schedules.reconcile([kept], {1: 60, 2: 30, 3: None}, T0)
    assert [(s.binding_id, s.next_due) for s in out] == [
        (1, T0 + timedelta(seconds=5)),
        (2, T0 + timedelta(seconds=30)),
    ]
    changed = schedules.reconcile(out, {1: 120}, T0)
    assert changed[0].next_due == T0 + timedelta(seconds=120)


def test_take_due_coalesces_and_skips_missed_ticks() -> None:
    s = [ScheduleState(binding_id=1, interval_seconds=60, next_due=T0)]
    late = T0 + timedelta(minutes=10)  # worker was down for ten intervals
    due = schedules.take_due(s, [], late)
    assert len(due) == 1 and due[0].binding_id == 1
    assert s[0].next_due == late + timedelta(seconds=60)
    # Still queued: the next due tick does not add a second one.
    assert schedules.take_due(s, due, late + timedelta(seconds=60)) == []


def test_until_next_due() -> None:
    s = [ScheduleState(binding_id=1, interval_seconds=60, next_due=T0 + timedelta(seconds=9))]
    assert schedules.until_next_due(s, T0) == timedelta(seconds=9)
    assert schedules.until_next_due(s, T0 + timedelta(hours=1)) == timedelta(0)
    assert schedules.until_next_due([], T0) is None
