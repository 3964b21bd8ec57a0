"""domain/metrics.py over round trips: every trade formula against figures worked out by hand,
and the undefined cases that must be None (never inf, never a sentinel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain import metrics
from domain.metrics import Trip

T0 = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def trip(
    opened_h: float,
    closed_h: float,
    net: str,
    *,
    symbol: str = "BTC",
    side: str = "long",
    notional: str = "1000",
    leverage: str | None = "2",
    fees: str = "0",
    funding: str = "0",
    exit_reason: str = "decision",
    trigger: str | None = None,
    program: int | None = None,
    prompt: int | None = None,
) -> Trip:
    return Trip(
        symbol=symbol,
        side=side,
        opened_at=T0 + timedelta(hours=opened_h),
        closed_at=T0 + timedelta(hours=closed_h),
        notional=D(notional),
        leverage=None if leverage is None else D(leverage),
        fees=D(fees),
        funding=D(funding),
        net_pnl=D(net),
        exit_reason=exit_reason,
        trigger_type=trigger,
        program_id=program,
        prompt_id=prompt,
    )


# Closed in this order: a win, a loss, a draw, a win.
TRIPS = [
    trip(
        0,
        2,
        "20",
        notional="1000",
        leverage="2",
        fees="1",
        funding="0.5",
        program=1,
        trigger="scheduled",
    ),
    trip(
        1,
        5,
        "-10",
        symbol="ETH",
        side="short",
        notional="500",
        leverage="5",
        fees="0.5",
        funding="-0.25",
        exit_reason="stop_loss",
        program=1,
        trigger="scheduled",
    ),
    trip(6, 7, "0", notional="200", leverage="1", fees="0.2", prompt=3, trigger="signal"),
    trip(
        8,
        12,
        "30",
        side="short",
        notional="400",
        leverage="4",
        fees="0.4",
        exit_reason="take_profit",
        trigger="manual",
    ),
]


def test_counts_pnl_and_win_rate() -> None:
    """Draws are in the win rate's denominator (freqtrade's semantics)."""
    m = metrics.trade_metrics(TRIPS)
    assert (m["total_trades"], m["wins"], m["draws"], m["losses"]) == (4, 2, 1, 1)
    assert m["total_pnl"] == D(40)
    assert m["win_rate"] == 0.5
    assert (m["best_trade_pnl"], m["worst_trade_pnl"]) == (D(30), D(-10))
    assert (m["total_fees"], m["total_funding"]) == (D("2.1"), D("0.25"))


def test_durations_in_hours() -> None:
    m = metrics.trade_metrics(TRIPS)
    assert m["avg_trade_duration_hours"] == (2 + 4 + 1 + 4) / 4
    assert m["avg_win_duration_hours"] == (2 + 4) / 2
    assert m["avg_loss_duration_hours"] == 4


def test_returns_on_margin_and_unlevered() -> None:
    """Margin = notional / leverage: 20 on 500 is 4 %, -10 on 100 is -10 %, 0, 30 on 100."""
    m = metrics.trade_metrics(TRIPS)
    assert m["avg_return_pct"] == pytest.approx((4 - 10 + 0 + 30) / 4, rel=1e-12)
    assert m["avg_return_pct_unlevered"] == pytest.approx((2 - 2 + 0 + 7.5) / 4, rel=1e-12)


def test_a_trip_without_leverage_is_left_out_of_the_return_on_margin() -> None:
    m = metrics.trade_metrics([trip(0, 1, "10", leverage=None), trip(0, 1, "5", leverage="1")])
    assert m["avg_return_pct"] == pytest.approx(0.5)  # only the second: 5 on 1000
    assert metrics.trade_metrics([trip(0, 1, "10", leverage=None)])["avg_return_pct"] is None


def test_profit_factor_and_expectancy() -> None:
    """50 won / 10 lost; expectancy 0.5 x 25 - 0.25 x 10 = 10 (the mean net PnL);
    ratio (1 + 25 / 10) x 0.5 - 1 = 0.75."""
    m = metrics.trade_metrics(TRIPS)
    assert m["profit_factor"] == 5.0
    assert m["expectancy"] == D(10)
    assert m["expectancy_ratio"] == pytest.approx(0.75, rel=1e-12)


def test_long_short_split() -> None:
    m = metrics.trade_metrics(TRIPS)
    assert (m["long_trades"], m["long_pnl"]) == (2, D(20))
    assert (m["short_trades"], m["short_pnl"]) == (2, D(20))


def test_streaks_are_broken_by_draws() -> None:
    nets = ["1", "2", "0", "-1", "-1", "-3", "4", "0", "-2"]
    trips = [trip(i, i + 0.5, n) for i, n in enumerate(nets)]
    m = metrics.trade_metrics(list(reversed(trips)))  # ordered by close time, not input
    assert (m["max_consecutive_wins"], m["max_consecutive_losses"]) == (2, 3)


def test_no_losses_leaves_profit_factor_and_expectancy_ratio_undefined() -> None:
    m = metrics.trade_metrics([trip(0, 1, "5"), trip(1, 2, "0")])
    assert m["profit_factor"] is None and m["expectancy_ratio"] is None
    assert m["expectancy"] == D("2.5")
    assert m["avg_loss_duration_hours"] is None


def test_losses_without_wins_give_a_zero_profit_factor() -> None:
    """Not None: no winner is a real answer (HAA's `if profit_factor` turned it into None)."""
    m = metrics.trade_metrics([trip(0, 1, "-5")])
    assert m["profit_factor"] == 0.0
    assert m["expectancy_ratio"] == -1.0


def test_no_trades_is_all_none_or_zero() -> None:
    m = metrics.trade_metrics([])
    assert m["total_trades"] == 0 and m["total_pnl"] == D(0)
    for k in (
        "win_rate",
        "best_trade_pnl",
        "worst_trade_pnl",
        "avg_return_pct",
        "expectancy",
        "profit_factor",
        "avg_trade_duration_hours",
    ):
        assert m[k] is None, k


def test_exposure_and_trades_per_day_over_the_period() -> None:
    """Positions open 0-5h, 6-7h and 8-12h of a 24 h period: 10 h of 24."""
    m = metrics.summary(TRIPS, [], T0, T0 + timedelta(days=1))
    assert m["exposure_pct"] == pytest.approx(10 / 24 * 100, rel=1e-12)
    assert m["trades_per_day"] == 4.0


def test_breakdown_lines() -> None:
    by_symbol = dict(metrics.breakdown(TRIPS, lambda t: t.symbol))
    assert list(by_symbol) == ["BTC", "ETH"]
    btc = by_symbol["BTC"]
    assert (btc["trades"], btc["wins"], btc["draws"], btc["losses"]) == (3, 2, 1, 0)
    assert btc["total_pnl"] == D(50) and btc["profit_factor"] is None
    assert btc["avg_duration_hours"] == (2 + 1 + 4) / 3
    by_strategy = dict(metrics.breakdown(TRIPS, metrics.strategy_of))
    assert list(by_strategy) == [("program", 1), ("prompt", 3), (None, None)]
    assert by_strategy[("program", 1)]["profit_factor"] == 2.0
    by_exit = dict(metrics.breakdown(TRIPS, lambda t: t.exit_reason))
    assert sorted(by_exit) == ["decision", "stop_loss", "take_profit"]
    by_trigger = dict(metrics.breakdown(TRIPS, lambda t: t.trigger_type))
    assert by_trigger["scheduled"]["trades"] == 2


def test_periods_are_utc_day_week_and_month() -> None:
    late = trip(0, 24 * 6 + 23, "1")  # closes Monday 2026-12-07 23:00 UTC
    assert metrics.by_period("day")(late) == "2026-12-07"
    assert metrics.by_period("week")(late) == "2026-12-07"  # that Monday starts the week
    assert metrics.by_period("week")(TRIPS[0]) == "2026-11-30"
    assert metrics.by_period("month")(TRIPS[0]) == "2026-12"


def test_json_writes_ratios_to_ten_digits_and_money_plainly() -> None:
    out = metrics.as_json(
        {"a": 1 / 3, "b": 1.5e-5, "c": D("10.500"), "d": None, "e": 3, "f": T0, "g": -0.0}
    )
    assert out == {
        "a": "0.3333333333",
        "b": "0.000015",
        "c": "10.5",
        "d": None,
        "e": 3,
        "f": "2026-12-01T00:00:00+00:00",
        "g": "0",
    }
    assert metrics.ratio_text(float("inf")) is None and metrics.ratio_text(float("nan")) is None
