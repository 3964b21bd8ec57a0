"""An event and what it reports commit together or not at all: a crash after the event was
appended (a later statement of the transaction fails, or the commit does) loses both, so a
client never hears of a fill, a decision or a status that is not recorded, and nothing recorded
goes unreported once the work is redone. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session

from adapters.exchanges.paper import PaperExchange
from db import events
from db.account_status import ReportingSession
from db.base import utcnow
from db.decided_once import finish
from db.fills import record_fills
from db.models import Account, DecisionRecord, OrderRecord, PaperAccountRecord, TradeRecord
from domain import paper
from domain.contracts import FinishDecisionInput
from domain.decision import Decision
from domain.orders import OrderIntent, OrderStatus
from domain.vocabulary import DecisionStatus

D = Decimal


class Crash(Exception):
    """The database went away mid-transaction."""


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=D(1000),
                      max_leverage=D(5), max_position_notional_usd=D(100000),
                      max_concurrent_positions=3, symbols=["BTC"], status="Paused"))  # fmt: skip
        s.add(DecisionRecord(id="dec-1-1", account_id=1, seq=1, trigger_type="manual",
                             decided_at=utcnow()))  # fmt: skip
    with Session(eng) as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-1-1-entry", decision_id="dec-1-1", account_id=1,
                          leg="entry", symbol="BTC", side="buy", leverage=D(2)))  # fmt: skip
    yield eng
    eng.dispose()


def crash_on(engine: Engine, statement: str | None) -> None:
    """Fail the first statement starting with `statement` (None: the first commit)."""
    fired: list[bool] = []

    def before(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        if not fired and statement and text.lstrip().upper().startswith(statement):
            fired.append(True)
            raise Crash(statement)

    def commit(conn: Any) -> None:
        if not fired and statement is None:
            fired.append(True)
            raise Crash("commit")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return len(events.after(s, 0, 100)), s.scalar(select(func.count(TradeRecord.id))) or 0


def test_a_paper_fill_and_its_events_are_lost_together(engine: Engine) -> None:
    exchange = PaperExchange(None, paper.PaperConfig())  # type: ignore[arg-type]
    intent = OrderIntent(client_order_id="ho-1-1-entry", account_id=1, decision_id="dec-1-1",
                         leg="entry", symbol="BTC", side="buy", reduce_only=False,
                         size_usd=D(100), leverage=D(2))  # fmt: skip
    crash_on(engine, "UPDATE ORDERS")  # the order's status, written after the events
    with pytest.raises(Crash), Session(engine) as s, s.begin():
        exchange._place(s, intent, D(50000))
    assert _counts(engine) == (0, 0)
    with Session(engine) as s:
        state = s.get(PaperAccountRecord, 1)
        order = s.get(OrderRecord, "ho-1-1-entry")
    assert state is None or state.state["positions"] == {}
    assert order is not None and order.status == OrderStatus.INTENT
    with Session(engine) as s, s.begin():  # the rerun fills it: reported once
        exchange._place(s, intent, D(50000))
    assert _counts(engine) == (3, 1)  # the trade, the position, the equity point


def test_a_finished_decision_and_its_events_are_lost_together(engine: Engine) -> None:
    req = FinishDecisionInput(account_id=1, decision_id="dec-1-1", seq=1, trigger_type="manual",
                              status=DecisionStatus.HOLD, trader_status="Active",
                              decision=Decision(operation="hold"))  # fmt: skip
    crash_on(engine, None)
    with pytest.raises(Crash), Session(engine) as s, s.begin():
        finish(s, req)
    with Session(engine) as s:
        row, acct = s.get(DecisionRecord, "dec-1-1"), s.get(Account, 1)
    assert row is not None and row.completed_at is None
    assert acct is not None and acct.status == "Paused"
    assert _counts(engine) == (0, 0)
    with Session(engine) as s, s.begin():
        finish(s, req)
    assert _counts(engine) == (2, 0)  # the decision and the status it leaves


def test_a_status_write_of_the_api_and_its_event_are_lost_together(engine: Engine) -> None:
    crash_on(engine, None)
    with pytest.raises(Crash), ReportingSession(engine) as s, s.begin():
        acct = s.get(Account, 1)
        assert acct is not None
        acct.status, acct.status_reason = "Active", None
    with Session(engine) as s:
        acct = s.get(Account, 1)
    assert acct is not None and acct.status == "Paused"
    assert _counts(engine) == (0, 0)


def test_live_fills_and_their_events_are_lost_together(engine: Engine) -> None:
    fill = SimpleNamespace(trade_id="t1", exchange_order_id="o1", venue_client_id=None,
                           symbol="BTC", side="buy", size=D(1), price=D(100), fee=D(0),
                           realized_pnl=D(0), time_ms=1, liquidation=False)  # fmt: skip
    crash_on(engine, None)
    with pytest.raises(Crash), Session(engine) as s, s.begin():
        record_fills(s, 1, [fill])
    assert _counts(engine) == (0, 0)
    with Session(engine) as s, s.begin():
        record_fills(s, 1, [fill])
    assert _counts(engine) == (2, 1)  # the fill and the position it opened
