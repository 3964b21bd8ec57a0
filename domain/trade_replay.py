"""Trade replay (GET /api/analytics/trades/{id}/replay; README "Analytics"): the rules that say
where a round trip's entry and exit came from and which candles show it. Pure; the rows come
from db/analytics_decisions.py, linked by the round trip's own decision ids (no matching by
symbol or time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.market import Candle, Interval
from domain.money import plain
from domain.round_trips import ExitReason
from domain.trader import TriggerType
from domain.vocabulary import AccountType

BARS_BEFORE = 50  # bars shown before the entry's bar
BARS_AFTER = 10  # and after the exit's bar
MAX_BARS = 2000  # a longer window is shown at a coarser interval (see `replay_interval`)
OWNER = "owner"  # the owner's own close or manual order: no strategy was asked

# Exits no decision made: the position's trigger, the venue, or a fill found by reconciliation.
_TRIGGERED = {
    ExitReason.TAKE_PROFIT.value,
    ExitReason.STOP_LOSS.value,
    ExitReason.LIQUIDATION.value,
    ExitReason.RECONCILIATION.value,
}


def decision_origin(trigger_type: str, output: Any, llm_exchange: Any) -> str:
    """Who made a decision: `program` or `prompt` (a strategy ran), `circuit_breaker` (the
    trader closed on a breaker trip), or `owner` (the owner's close or manual order: no strategy
    was asked)."""
    if trigger_type == TriggerType.CIRCUIT_BREAKER:
        return TriggerType.CIRCUIT_BREAKER.value
    if isinstance(output, Mapping) and output.get("program_id") is not None:
        return AccountType.PROGRAM.value
    if isinstance(llm_exchange, Mapping) and llm_exchange:
        return AccountType.PROMPT.value
    return OWNER


def entry_origin(decision_origin_: str | None) -> str:
    """The entry's origin: its decision's, or `reconciliation` (no decision of the platform's
    opened it: a fill learnt from the venue)."""
    return decision_origin_ or ExitReason.RECONCILIATION.value


def exit_origin(exit_reason: str, decision_origin_: str | None) -> str:
    """The exit's origin: `take_profit`, `stop_loss`, `liquidation`, `reconciliation` when no
    decision closed it, else its decision's origin."""
    if exit_reason in _TRIGGERED or decision_origin_ is None:
        return exit_reason
    return decision_origin_


def reasoning(output: Any, llm_exchange: Any) -> str | None:
    """The decision's reasoning as the strategy gave it (None: none given)."""
    for source in (output, llm_exchange):
        if isinstance(source, Mapping):
            decision = source.get("decision")
            if isinstance(decision, Mapping) and decision.get("reasoning"):
                return str(decision["reasoning"])
            if source.get("reasoning"):
                return str(source["reasoning"])
    return None


@dataclass(frozen=True)
class Window:
    """The open times of the first and last bar shown, and how many bars that is."""

    first_ms: int
    last_ms: int
    interval_ms: int

    @property
    def expected(self) -> int:
        return max(0, (self.last_ms - self.first_ms) // self.interval_ms + 1)


def window(opened_ms: int, closed_ms: int, interval_ms: int, now_ms: int) -> Window:
    """From BARS_BEFORE bars before the entry's bar to BARS_AFTER after the exit's, ending at
    the last bar closed by `now_ms` (a bar that has not closed yet cannot be stored)."""
    entry_bar = opened_ms // interval_ms * interval_ms
    exit_bar = closed_ms // interval_ms * interval_ms
    last_closed = now_ms // interval_ms * interval_ms - interval_ms
    return Window(
        entry_bar - BARS_BEFORE * interval_ms,
        min(exit_bar + BARS_AFTER * interval_ms, last_closed),
        interval_ms,
    )


def replay_interval(opened_ms: int, closed_ms: int, decided: Interval) -> Interval:
    """The interval the candles around a round trip are shown at: the entry decision's, or the
    first coarser one whose window holds at most MAX_BARS bars (a trade held for months at 1m
    would be hundreds of thousands of candles in one answer); 1d at the coarsest."""
    intervals = list(Interval)
    for iv in intervals[intervals.index(decided) :]:
        span = closed_ms // iv.ms - opened_ms // iv.ms
        if span + BARS_BEFORE + BARS_AFTER + 1 <= MAX_BARS:
            return iv
    return Interval.D1


def pick_source(
    stored: Mapping[str, Mapping[int, Candle]], preferred: Sequence[str]
) -> tuple[str | None, list[Candle]]:
    """The source with the most candles in the window (ties: the earlier in `preferred`, then
    by name), and its candles oldest first. (None, []) when none has any."""
    if not stored:
        return None, []
    rank = {s: i for i, s in enumerate(preferred)}
    best = min(stored, key=lambda s: (-len(stored[s]), rank.get(s, len(rank)), s))
    return best, [stored[best][t] for t in sorted(stored[best])]


def candle_json(c: Candle) -> dict[str, Any]:
    """A candle as /api/klines/data answers one (`timestamp`: its open time in ms; prices and
    volume decimal strings), so a replay's candles import back as they are."""
    prices = {k: plain(Decimal(str(v))) for k, v in c.to_dict().items() if k != "open_time_ms"}
    return {"timestamp": c.open_time_ms, **prices}


def source_preference(venue: str, feed: str, paper: str) -> list[str]:
    """Candle sources in order of preference for a trader: its venue's own (a live trader's),
    then the platform's market-data feed (what paper traders trade on)."""
    return [venue, feed] if venue != paper and venue != feed else [feed]
