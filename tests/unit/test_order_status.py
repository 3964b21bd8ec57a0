"""db/order_status.set_order_status, the one writer of an order's status, on SQLite and
PostgreSQL: a legal move writes, an illegal one keeps what was stored and is recorded once as a
reconciliation finding, the same status is no move at all; settling an order its finished
decision left unsettled records its `order_resolved` finding with the move."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.models import Account, DecisionRecord, OrderRecord, ReconciliationEvent
from db.order_status import ILLEGAL_TRANSITION, ORDER_RESOLVED, set_order_status
from domain.orders import OrderStatus

COID = "ho-1-1-entry"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-1-1", account_id=1, trigger_type="manual"))
    with Session(eng) as s, s.begin():
        s.add(OrderRecord(client_order_id=COID, decision_id="dec-1-1", account_id=1, leg="entry",
                          symbol="BTC", side="buy", leverage=Decimal(2),
                          status=OrderStatus.FILLED, filled_size=Decimal("0.01"),
                          avg_price=Decimal(50000)))  # fmt: skip
    yield eng
    eng.dispose()


def _set(engine: Engine, new: OrderStatus, **kw: Any) -> Any:
    with Session(engine) as s, s.begin():
        return set_order_status(s, COID, new, "test", **kw)


def _state(engine: Engine) -> tuple[OrderRecord, list[ReconciliationEvent]]:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(OrderRecord, COID)
        assert row is not None
        return row, list(s.scalars(select(ReconciliationEvent)))


def test_a_legal_move_writes_the_status_and_the_columns(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        s.get(OrderRecord, COID).status = OrderStatus.INTENT  # type: ignore[union-attr]
    out = _set(engine, OrderStatus.REJECTED, reject_reason="NOT_PLACED")
    assert out is not None and out.status is OrderStatus.REJECTED
    row, events = _state(engine)
    assert (row.status, row.reject_reason) == ("rejected", "NOT_PLACED")
    assert events == []


def test_an_illegal_move_keeps_the_record_and_is_recorded_once(engine: Engine) -> None:
    for _ in range(2):
        out = _set(engine, OrderStatus.CANCELLED, filled_size=None, reject_reason="CANCELED")
        assert out is not None and out.status is OrderStatus.FILLED  # what the row still says
    row, events = _state(engine)
    assert (row.status, row.filled_size, row.reject_reason) == ("filled", Decimal("0.01"), None)
    assert len(events) == 1
    e = events[0]
    assert (e.account_id, e.kind, e.subject) == (1, ILLEGAL_TRANSITION, COID)
    assert e.fingerprint == f"order:{COID}:filled->cancelled"
    assert e.detail == {
        "from": "filled",
        "to": "cancelled",
        "symbol": "BTC",
        "where": "test",
        "reported": {"reject_reason": "CANCELED"},
    }


def test_another_illegal_move_of_the_same_order_is_its_own_finding(engine: Engine) -> None:
    _set(engine, OrderStatus.CANCELLED)
    _set(engine, OrderStatus.REJECTED)
    _, events = _state(engine)
    assert sorted(e.fingerprint for e in events) == [
        f"order:{COID}:filled->cancelled",
        f"order:{COID}:filled->rejected",
    ]


def test_the_same_status_is_no_move(engine: Engine) -> None:
    """Recorded again (a later lookup with the fee known, say): the columns follow, no finding."""
    out = _set(engine, OrderStatus.FILLED, fee=Decimal("0.2"))
    assert out is not None and out.status is OrderStatus.FILLED
    row, events = _state(engine)
    assert (row.status, row.fee) == ("filled", Decimal("0.2"))
    assert events == []


def test_a_precondition_not_met_leaves_the_row_alone_and_is_no_finding(engine: Engine) -> None:
    """`only_from` is the caller's own rule (mark NOT_PLACED only what never went out), not a
    venue's report: a filled order is left as it is, silently."""
    out = _set(engine, OrderStatus.REJECTED, only_from=(OrderStatus.INTENT,), reject_reason="x")
    assert out is not None and out.status is OrderStatus.FILLED
    row, events = _state(engine)
    assert (row.status, row.reject_reason, events) == ("filled", None, [])


def test_an_order_that_is_not_ours_is_none(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        assert set_order_status(s, "ho-9-9-entry", OrderStatus.CANCELLED, "test") is None


def _unknown(engine: Engine, decision_finished: bool) -> None:
    with Session(engine) as s, s.begin():
        s.get(OrderRecord, COID).status = OrderStatus.UNKNOWN  # type: ignore[union-attr]
        if decision_finished:
            s.get(DecisionRecord, "dec-1-1").completed_at = utcnow()  # type: ignore[union-attr]


def test_settling_an_order_its_finished_decision_left_unknown_records_the_finding(
    engine: Engine,
) -> None:
    """Whoever settles it (here a late lookup, not a sync), the finding comes with the move, in
    its transaction: no reader sees the order settled without it (test_settled_with_finding)."""
    _unknown(engine, decision_finished=True)
    for _ in range(2):
        with Session(engine) as s, s.begin():
            set_order_status(s, COID, OrderStatus.FILLED, "resolve", found_by="late")
            # Read in the writer's own transaction: the finding is part of the write.
            found = [(e.kind, e.subject, e.reason) for e in s.scalars(select(ReconciliationEvent))]
        assert found == [(ORDER_RESOLVED, COID, "late")]
    row, events = _state(engine)
    assert row.status == "filled" and len(events) == 1  # once per order and new status
    assert events[0].fingerprint == f"order:{COID}:filled"
    assert events[0].detail == {"from": "unknown", "to": "filled", "symbol": "BTC",
                                "where": "resolve"}  # fmt: skip


def test_a_lookup_within_the_decision_is_no_finding(engine: Engine) -> None:
    """The decision's own lookup (resolve_order) settles it before the decision is finished: the
    decision's outcome says what happened, reconciliation found nothing."""
    _unknown(engine, decision_finished=False)
    _set(engine, OrderStatus.FILLED)
    row, events = _state(engine)
    assert (row.status, events) == ("filled", [])
