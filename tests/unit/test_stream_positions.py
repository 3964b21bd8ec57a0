"""What a fill does to a position, as the live stream reports it (db/stream_events.py), and a
live position as its recorded fills make it (db/fills.py `replay`: the venues' average-cost
rule, the one the exchange emulators follow too)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from db.fills import Net, replay
from db.stream_events import Holding, position_moves
from domain.events import PositionKind
from domain.vocabulary import PositionSide

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
D = Decimal


def _fill(side: str, size: str, price: str) -> SimpleNamespace:
    return SimpleNamespace(side=side, size=D(size), price=D(price))


def test_adding_averages_the_entry_and_reducing_keeps_it() -> None:
    net = replay([_fill("buy", "1", "100"), _fill("buy", "3", "200")])
    assert net == Net(D(4), D(175))
    assert net.after("sell", D(1), D(300)) == Net(D(3), D(175))


def test_flat_forgets_the_entry_and_a_turn_opens_the_rest_at_its_price() -> None:
    assert replay([_fill("sell", "2", "50"), _fill("buy", "2", "40")]) == Net()
    turned = replay([_fill("buy", "1", "100"), _fill("sell", "3", "90")])
    assert turned == Net(D(-2), D(90))


def _held(side: PositionSide, size: str, entry: str = "100") -> Holding:
    return Holding(side=side, size=D(size), entry_price=D(entry), leverage=D(2),
                   mark_price=D(101), unrealized_pnl=D(1))  # fmt: skip


def test_a_fill_opens_changes_or_closes_the_position() -> None:
    long1, long2 = _held(PositionSide.LONG, "1"), _held(PositionSide.LONG, "2")
    opened = position_moves(3, "BTC", None, long1, T0)
    changed = position_moves(3, "BTC", long1, long2, T0)
    closed = position_moves(3, "BTC", long2, None, T0)
    assert [m.kind for m in opened + changed + closed] == [
        PositionKind.OPENED,
        PositionKind.CHANGED,
        PositionKind.CLOSED,
    ]
    assert (opened[0].size, opened[0].unrealized_pnl, opened[0].mark_price) == (D(1), D(1), D(101))
    # closed: size 0, what it was (side, entry, leverage), no valuation
    assert (closed[0].side, closed[0].size, closed[0].entry_price) == ("long", D(0), D(100))
    assert (closed[0].mark_price, closed[0].unrealized_pnl) == (None, None)


def test_a_turn_closes_one_side_and_opens_the_other() -> None:
    moves = position_moves(
        3, "BTC", _held(PositionSide.LONG, "1"), _held(PositionSide.SHORT, "2"), T0
    )
    assert [(m.kind, m.side) for m in moves] == [
        (PositionKind.CLOSED, PositionSide.LONG),
        (PositionKind.OPENED, PositionSide.SHORT),
    ]


def test_only_a_new_valuation_is_no_move() -> None:
    before = _held(PositionSide.SHORT, "1")
    revalued = Holding(side=PositionSide.SHORT, size=D(1), entry_price=D(100), leverage=D(2),
                       mark_price=D(90), unrealized_pnl=D(10))  # fmt: skip
    assert position_moves(3, "BTC", before, revalued, T0) == []
    assert position_moves(3, "BTC", None, None, T0) == []
