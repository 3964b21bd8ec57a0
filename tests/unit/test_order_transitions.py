"""The order state table (domain/orders.py): the sequences venues really produce are legal, the
impossible ones are not (db/order_status.py keeps the record and files a finding for those)."""

from __future__ import annotations

import pytest

from domain.orders import OrderStatus, can_transition

IN, S, U = OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.UNKNOWN
F, R, C = OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("current", "new", "why"),
    [
        (IN, U, "a live order goes out from intent and its answer is lost"),
        (IN, C, "the venue cancels a market order at once (Binance EXPIRED)"),
        (U, S, "the lookup of a lost answer finds the order resting"),
        (U, C, "the lookup of a lost answer finds the order cancelled or expired"),
        (IN, F, "a paper order, or a live one answered at once"),
        (S, C, "a resting order cancelled"),
        (C, F, "the fill raced the cancel"),
    ],
)
def test_real_sequences_are_legal(current: OrderStatus, new: OrderStatus, why: str) -> None:
    assert can_transition(current, new), why


@pytest.mark.parametrize(
    ("current", "new"),
    [(F, R), (F, C), (F, U), (F, S), (C, R), (R, F), (R, C), (S, IN), (U, IN), (F, IN)],
)
def test_impossible_sequences_are_not(current: OrderStatus, new: OrderStatus) -> None:
    assert not can_transition(current, new)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_the_same_status_is_always_allowed(status: OrderStatus) -> None:
    assert can_transition(status, status)
