"""Round trips from fills (domain/round_trips.py): one per position that went flat, its PnL the
sum of its fills' realised PnL less fees and funding, with why and by which decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from domain.exchange_rules import hyperliquid_cloid
from domain.round_trips import (
    ExitReason,
    OrderFacts,
    TripFill,
    our_order_id,
    reopened_size,
    replay,
    venue_ids,
)
from domain.vocabulary import PositionSide, Side

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def fill(row: int, side: Side, size: str, price: str, fee: str = "0.1", pnl: str = "0",
         **kw: object) -> TripFill:  # fmt: skip
    return TripFill(row=row, side=side, size=D(size), price=D(price), fee=D(fee),
                    realized_pnl=D(pnl), at=T0 + timedelta(minutes=row), **kw)  # type: ignore[arg-type]  # fmt: skip


def ours(seq: int, leg: str = "entry", **facts: object) -> dict[str, object]:
    """A fill of our order `ho-1-<seq>-<leg>`, placed by decision `dec-1-<seq>`."""
    return {
        "order_id": f"ho-1-{seq}-{leg}",
        "order": OrderFacts(f"dec-1-{seq}", **facts),  # type: ignore[arg-type]
    }


def test_a_closed_long_is_one_round_trip_with_net_pnl_after_fees() -> None:
    fills = [
        fill(1, Side.BUY, "2", "100", fee="0.2", **ours(1, leverage=D(3))),
        fill(2, Side.SELL, "2", "110", fee="0.22", pnl="20", **ours(2, "close")),
    ]
    (trip,) = replay(fills)
    assert trip.side is PositionSide.LONG
    assert (trip.entry_price, trip.exit_price, trip.size) == (D(100), D(110), D(2))
    assert (trip.notional, trip.leverage) == (D(200), D(3))
    assert (trip.gross_pnl, trip.fees, trip.funding) == (D(20), D("0.42"), D(0))
    assert trip.net_pnl == D("19.58")
    assert (trip.opened_at, trip.closed_at) == (fills[0].at, fills[1].at)
    assert (trip.entry_decision_id, trip.exit_decision_id) == ("dec-1-1", "dec-1-2")
    assert trip.exit_reason is ExitReason.DECISION
    assert (trip.first_fill_row, trip.last_fill_row, trip.fill_count) == (1, 2, 2)


def test_partial_closes_and_adds_are_fills_of_the_same_round_trip() -> None:
    fills = [
        fill(1, Side.SELL, "1", "100", **ours(1)),
        fill(2, Side.SELL, "1", "110", **ours(2)),  # adds to the short
        fill(3, Side.BUY, "0.5", "90", pnl="7.5", **ours(3, "close")),  # partial close
        fill(4, Side.BUY, "1.5", "95", pnl="15", **ours(4, "close")),
    ]
    (trip,) = replay(fills)
    assert trip.side is PositionSide.SHORT
    assert (trip.entry_price, trip.size, trip.notional) == (D(105), D(2), D(210))
    assert trip.exit_price == D("93.75")  # (0.5 * 90 + 1.5 * 95) / 2
    assert trip.gross_pnl == D("22.5")
    assert trip.net_pnl == sum(f.realized_pnl for f in fills) - sum(f.fee for f in fills)
    assert (trip.fill_count, trip.entry_decision_id, trip.exit_decision_id) == (
        4,
        "dec-1-1",
        "dec-1-4",
    )


def test_an_open_position_is_no_round_trip_yet() -> None:
    fills = [fill(1, Side.BUY, "2", "100", **ours(1)), fill(2, Side.SELL, "1", "105", **ours(2))]
    assert replay(fills) == []


def test_a_paper_trigger_exit_is_its_kind_and_no_decision() -> None:
    """The paper engine writes the trigger on the fill (trades.trigger)."""
    for trigger, reason in (
        ("take_profit", ExitReason.TAKE_PROFIT),
        ("stop_loss", ExitReason.STOP_LOSS),
        ("liquidation", ExitReason.LIQUIDATION),
    ):
        fills = [
            fill(1, Side.BUY, "1", "100", **ours(1)),
            fill(2, Side.SELL, "1", "90", pnl="-10", trigger=trigger),
        ]
        (trip,) = replay(fills)
        assert (trip.exit_reason, trip.exit_decision_id) == (reason, None)
        assert trip.entry_decision_id == "dec-1-1"


def test_a_venue_trigger_exit_is_named_by_its_protective_leg() -> None:
    """On a live venue the TP/SL leg is an order of the entry's decision, not an exit one."""
    fills = [
        fill(1, Side.BUY, "1", "100", **ours(1)),
        fill(2, Side.SELL, "1", "120", pnl="20", **ours(1, "entry:tp")),
    ]
    (trip,) = replay(fills)
    assert (trip.exit_reason, trip.exit_decision_id) == (ExitReason.TAKE_PROFIT, None)


def test_the_owners_close_and_a_venue_fill_are_told_apart() -> None:
    opened = fill(1, Side.BUY, "1", "100", **ours(1))
    by_owner = fill(2, Side.SELL, "1", "100", **ours(2, "close", owner_close=True))
    at_venue = fill(2, Side.SELL, "1", "100")  # no order of ours: learnt by reconciliation
    (trip,) = replay([opened, by_owner])
    assert (trip.exit_reason, trip.exit_decision_id) == (ExitReason.MANUAL_CLOSE, "dec-1-2")
    (trip,) = replay([opened, at_venue])
    assert (trip.exit_reason, trip.exit_decision_id) == (ExitReason.RECONCILIATION, None)


def test_a_flip_closes_one_round_trip_and_opens_the_next() -> None:
    fills = [
        fill(1, Side.BUY, "1", "100", fee="0.1"),
        fill(2, Side.SELL, "3", "110", fee="0.3", pnl="10"),  # closes 1, opens a short of 2
        fill(3, Side.BUY, "2", "100", fee="0.2", pnl="20"),
    ]
    first, second = replay(fills)
    assert (first.side, first.size, first.last_fill_row) == (PositionSide.LONG, D(1), 2)
    assert (first.gross_pnl, first.fees) == (D(10), D("0.2"))  # its third of the fee
    assert (second.side, second.size, second.entry_price) == (PositionSide.SHORT, D(2), D(110))
    assert (second.gross_pnl, second.fees, second.first_fill_row) == (D(20), D("0.4"), 2)
    assert first.fees + second.fees == sum(f.fee for f in fills)  # no fee lost or counted twice
    # Replaying from the second round trip's first fill (as recording resumes): of the flip's
    # 3, the 2 that opened it.
    first_entry = reopened_size(second.side, second.size, fills[2:])
    assert first_entry == D(2)
    assert replay(fills[1:], first_entry) == [second]


def test_history_that_starts_mid_position_opens_nothing_with_a_close() -> None:
    """A close (or trigger) with nothing open closed a position opened before the history."""
    fills = [
        fill(1, Side.SELL, "1", "100", **ours(1, "close")),
        fill(2, Side.SELL, "1", "100", trigger="stop_loss"),
        fill(3, Side.BUY, "1", "100", **ours(3)),
        fill(4, Side.SELL, "1", "101", pnl="1", **ours(4, "close")),
    ]
    (trip,) = replay(fills)
    assert (trip.first_fill_row, trip.last_fill_row) == (3, 4)


def test_a_venue_reports_our_id_in_its_own_form() -> None:
    mine = "ho-1-2-entry:tp"
    known = venue_ids([mine, "ho-1-3-close"])
    assert our_order_id(hyperliquid_cloid(mine), known) == mine
    assert our_order_id("ho-1-9-entry", {}) == "ho-1-9-entry"  # ours as it is
    assert our_order_id("0xforeign", known) is None
    assert our_order_id(None, known) is None
