"""db/decided_once.finish when an attempt finishes without carrying out the intents an earlier
attempt recorded and sent: a limit order the earlier attempt left resting on the book
(`submitted`) was placed as asked, so the decision stands as executed (not ORDER_REJECTED)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from db.base import utcnow
from db.decided_once import finish
from db.models import Account, DecisionRecord, OrderRecord
from domain.contracts import FinishDecisionInput
from domain.orders import OrderStatus


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-1-1", account_id=1, seq=1, trigger_type="manual",
                             decided_at=utcnow()))  # fmt: skip
    with Session(eng) as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-1-1-entry", decision_id="dec-1-1", account_id=1,
                          leg="entry", symbol="BTC", side="buy", leverage=Decimal(1),
                          order_type="limit", limit_price=Decimal(49000), size_base=Decimal(1),
                          status=OrderStatus.SUBMITTED.value))  # fmt: skip
    yield eng
    eng.dispose()


def test_a_resting_limit_order_an_earlier_attempt_placed_leaves_the_decision_executed(
    engine: Engine,
) -> None:
    req = FinishDecisionInput(
        account_id=1,
        decision_id="dec-1-1",
        seq=1,
        trigger_type="manual",
        status="denied",  # this attempt was denied (a pause that came later, say)
        trader_status="Active",
    )
    with Session(engine) as s, s.begin():
        outcome = finish(s, req)
    assert outcome.status == "executed" and outcome.error_code is None, outcome
    assert [o.status for o in outcome.orders] == [OrderStatus.SUBMITTED]
