"""domain.breakers.evaluate: when a circuit breaker trips, with which stable reason, and what the
breakers remember between evaluations (one pure rule; the stack tests drive it end to end)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from domain.breakers import (
    BreakerKind,
    BreakerSettings,
    arm,
    day_open_window,
    evaluate,
)

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
DAILY = BreakerSettings(daily_loss_limit_pct=D(5))
DRAWDOWN = BreakerSettings(max_drawdown_pct=D(10))


def test_the_first_evaluation_arms_from_the_equity_of_that_moment() -> None:
    state, trip = evaluate(DAILY, None, D(1000), T0)
    assert trip is None
    assert (state.armed_at, state.day_start_equity, state.peak_equity) == (T0, D(1000), D(1000))
    assert state.day_start == datetime(2026, 12, 7, tzinfo=UTC)


def test_a_daily_loss_below_the_limit_does_not_trip() -> None:
    _, trip = evaluate(DAILY, arm(D(1000), T0), D("950.01"), T0 + timedelta(hours=1))
    assert trip is None


def test_a_daily_loss_at_the_limit_trips_with_its_stable_reason() -> None:
    _, trip = evaluate(DAILY, arm(D(1000), T0), D(950), T0 + timedelta(hours=1))
    assert trip is not None and trip.kind is BreakerKind.DAILY_LOSS
    assert trip.reason == (
        "CIRCUIT_BREAKER_DAILY_LOSS: equity 950 is 5% below the day's starting equity 1000 "
        "(limit 5%)"
    )


def test_a_new_utc_day_starts_from_the_last_equity_before_midnight() -> None:
    yesterday = arm(D(1000), T0 - timedelta(days=1))
    now = T0  # 09:30 the next day; the day opened at 900 (a loss made yesterday)
    state, trip = evaluate(DAILY, yesterday, D(880), now, day_open_equity=D(900))
    assert trip is None  # 2.2 % of 900: yesterday's loss does not count today
    assert (state.day_start, state.day_start_equity) == (datetime(2026, 12, 7, tzinfo=UTC), D(900))


def test_a_new_day_without_an_equity_point_starts_from_the_current_equity() -> None:
    state, _ = evaluate(DAILY, arm(D(1000), T0 - timedelta(days=1)), D(700), T0)
    assert state.day_start_equity == D(700)


def test_the_day_open_window_runs_from_the_arming_to_midnight() -> None:
    armed = arm(D(1000), T0 - timedelta(days=2))
    assert day_open_window(armed, T0) == (armed.armed_at, datetime(2026, 12, 7, tzinfo=UTC))
    assert day_open_window(arm(D(1000), T0), T0 + timedelta(hours=2)) is None


def test_the_peak_rises_with_the_equity() -> None:
    state, trip = evaluate(DRAWDOWN, arm(D(1000), T0), D(1200), T0 + timedelta(hours=1))
    assert trip is None and state.peak_equity == D(1200)


def test_a_drawdown_from_the_peak_trips() -> None:
    state, _ = evaluate(DRAWDOWN, arm(D(1000), T0), D(1200), T0 + timedelta(hours=1))
    _, trip = evaluate(DRAWDOWN, state, D(1080), T0 + timedelta(hours=2))
    assert trip is not None and trip.kind is BreakerKind.MAX_DRAWDOWN
    assert trip.reason.startswith(
        "CIRCUIT_BREAKER_MAX_DRAWDOWN: equity 1080 is 10% below its peak 1200 since "
        "2026-12-07 09:30 UTC"
    ), trip.reason


def test_the_daily_loss_is_judged_first() -> None:
    both = BreakerSettings(daily_loss_limit_pct=D(5), max_drawdown_pct=D(5))
    _, trip = evaluate(both, arm(D(1000), T0), D(900), T0)
    assert trip is not None and trip.kind is BreakerKind.DAILY_LOSS


def test_no_limit_set_never_trips() -> None:
    _, trip = evaluate(BreakerSettings(), arm(D(1000), T0), D(1), T0)
    assert trip is None


def test_a_trip_carries_whether_positions_are_closed() -> None:
    settings = BreakerSettings(max_drawdown_pct=D(1), closes_positions=True)
    _, trip = evaluate(settings, arm(D(1000), T0), D(980), T0)
    assert trip is not None and trip.closes_positions
