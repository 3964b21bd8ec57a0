"""The event log (db/events.py): events commit with their transaction, come back in id order
with their data as recorded, and old ones are trimmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from db import events
from db.models import Account
from domain.events import (
    EventType,
    ModelChatUpdate,
    StatusUpdate,
    TradeKind,
    TradeUpdate,
)
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus, Side

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Session:
    engine = create_engine(database_url)
    with Session(engine) as s, s.begin():
        for i in (1, 2):
            s.add(Account(id=i, name=f"t{i}", account_type="program", initial_capital=Decimal(1000),
                          max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                          max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
    with Session(engine) as s:
        yield s
    engine.dispose()


def _fill(account_id: int, at: datetime) -> TradeUpdate:
    return TradeUpdate(
        account_id=account_id, time=at, kind=TradeKind.FILL, symbol="BTC", side=Side.BUY,
        client_order_id="ho-1-1-entry", trade_id="t1", size=Decimal("0.0015"),
        price=Decimal("97000.5"), fee=Decimal("0.0727"), realized_pnl=Decimal(0),
    )  # fmt: skip


def test_events_come_back_in_order_with_their_data(session: Session) -> None:
    with session.begin():
        events.append(session, _fill(1, T0))
        events.append(
            session,
            ModelChatUpdate(account_id=2, time=T0, decision_id="dec-2-1", trigger_type="manual",
                            status=DecisionStatus.HOLD, operation="hold", reasoning="<b>x</b>"),
            StatusUpdate(account_id=1, time=T0, status=TraderStatus.PAUSED, reason="owner"),
        )  # fmt: skip
    got = events.after(session, 0, 10)
    session.rollback()
    assert [e.type for e in got] == [EventType.TRADE, EventType.MODEL_CHAT, EventType.STATUS]
    assert got[0].id < got[1].id < got[2].id
    assert got[0].data["price"] == "97000.5" and got[0].data["size"] == "0.0015"
    assert got[1].data["reasoning"] == "<b>x</b>"  # text as written: never interpreted
    assert [e.id for e in events.after(session, got[0].id, 10, account_ids=[1])] == [got[2].id]
    session.rollback()


def test_an_event_rolls_back_with_its_transaction(session: Session) -> None:
    with pytest.raises(RuntimeError), session.begin():
        events.append(session, _fill(1, T0))
        raise RuntimeError("the fill's write failed")
    assert events.after(session, 0, 10) == [] and events.last_id(session) == 0
    session.rollback()


def test_old_events_are_trimmed_and_the_first_kept_id_moves(session: Session) -> None:
    with session.begin():
        events.append(session, _fill(1, T0 - timedelta(days=8)), _fill(1, T0))
    first, last = events.first_id(session), events.last_id(session)
    session.rollback()
    with session.begin():
        assert events.trim(session, T0 - timedelta(days=7)) == 1
    assert events.first_id(session) == last > first
    session.rollback()
