"""The candles around a replayed round trip: at the entry decision's interval, or coarser when a
long-held trade would make the answer hundreds of thousands of candles."""

from __future__ import annotations

from domain.market import Interval
from domain.trade_replay import MAX_BARS, replay_interval

HOUR = 3_600_000
DAY = 24 * HOUR


def test_a_short_trade_keeps_the_decision_interval() -> None:
    assert replay_interval(0, 3 * HOUR, Interval.M1) is Interval.M1


def test_a_trade_held_for_months_at_1m_is_shown_at_a_coarser_interval() -> None:
    # 90 days: 129,600 minutes, 2,160 hours (plus 61 bars of margin: over MAX_BARS), 540 4h bars
    assert replay_interval(0, 90 * DAY, Interval.M1) is Interval.H4


def test_the_window_never_exceeds_the_cap_until_1d() -> None:
    for days in (1, 10, 100, 1000):
        iv = replay_interval(0, days * DAY, Interval.M1)
        bars = (days * DAY) // iv.ms + 61
        assert bars <= MAX_BARS or iv is Interval.D1, (days, iv)
