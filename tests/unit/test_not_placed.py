"""db/decided_once.finish when an attempt finishes without carrying out intents an earlier one
recorded: an order still `intent` never went out and is marked NOT_PLACED; one that went out
meanwhile (a paper order that filled in flight) keeps its record and is no finding, since that
is the finish's own rule, not an impossible report. The trader's status follows the outcome."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.decided_once import NOT_PLACED, finish
from db.models import Account, DecisionRecord, OrderRecord, ReconciliationEvent
from domain.contracts import FinishDecisionInput
from domain.orders import OrderStatus


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC", "ETH"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-1-1", account_id=1, seq=1, trigger_type="manual",
                             decided_at=utcnow()))  # fmt: skip
    with Session(eng) as s, s.begin():
        for coid, status in (("ho-1-1-entry", "intent"), ("ho-1-1-close", "filled")):
            s.add(OrderRecord(client_order_id=coid, decision_id="dec-1-1", account_id=1,
                              leg=coid.rsplit("-", 1)[1], symbol="BTC", side="buy",
                              leverage=Decimal(2), status=status))  # fmt: skip
    yield eng
    eng.dispose()


def test_an_intent_not_carried_out_is_not_placed_and_a_filled_one_stands(engine: Engine) -> None:
    req = FinishDecisionInput(
        account_id=1,
        decision_id="dec-1-1",
        seq=1,
        trigger_type="manual",
        status="denied",
        trader_status="Paused",
        paused=True,
    )
    with Session(engine) as s, s.begin():
        outcome = finish(s, req)
    assert outcome.status == "failed" and outcome.error_code == "ORDER_REJECTED"
    with Session(engine) as s:
        rows = {o.client_order_id: o for o in s.scalars(select(OrderRecord))}
        events = list(s.scalars(select(ReconciliationEvent)))
        acct = s.get(Account, 1)
    entry, close = rows["ho-1-1-entry"], rows["ho-1-1-close"]
    assert (entry.status, entry.reject_reason) == (OrderStatus.REJECTED, NOT_PLACED)
    assert (close.status, close.reject_reason) == (OrderStatus.FILLED, None)
    assert events == []
    assert acct is not None and acct.status == "Paused"
    assert acct.status_reason == f"ORDER_REJECTED: ho-1-1-entry: {NOT_PLACED}"
