"""The database writers report what they write on the live stream (db/events.py), once, in their
own transaction: a finished decision (never its prompt, raw answer or snapshot), a note, a
change of the trader's status (from the workflow or from the API's ORM writes), a cancel, and a
live trader's new fills with the position they make. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from db import events
from db.account_status import ReportingSession
from db.base import utcnow
from db.decided_once import finish
from db.fills import record_fills
from db.models import Account, DecisionRecord, OrderRecord, TradeRecord
from db.notes import record_note
from db.order_status import set_order_status
from db.traders import record_status
from domain.contracts import FinishDecisionInput, RecordNoteInput
from domain.decision import Decision
from domain.events import Event, EventType
from domain.orders import OrderStatus
from domain.risk import DenyReason, RiskVerdict
from domain.vocabulary import DecisionStatus

D = Decimal
SECRETS = ("PROMPT-TEXT-7f3", "RAW-ANSWER-9c1", "SNAPSHOT-MARK-4e2")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        for i, status in ((1, "Paused"), (2, "Active")):
            s.add(Account(id=i, name=f"t{i}", account_type="program", initial_capital=D(1000),
                          max_leverage=D(5), max_position_notional_usd=D(1000), status=status,
                          max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
    with Session(eng) as s, s.begin():
        s.add(DecisionRecord(id="dec-1-1", account_id=1, seq=1, trigger_type="schedule",
                             input_snapshot={"note": SECRETS[2]}, decided_at=utcnow()))  # fmt: skip
    yield eng
    eng.dispose()


def _events(engine: Engine) -> list[Event]:
    with Session(engine) as s:
        return events.after(s, 0, 100)


def _finish(**kw: object) -> FinishDecisionInput:
    fields: dict[str, object] = {
        "account_id": 1, "decision_id": "dec-1-1", "seq": 1, "trigger_type": "schedule",
        "status": DecisionStatus.HOLD, "trader_status": "Active",
        "decision": Decision(operation="hold", reasoning="<b>waiting</b> for BTC"),
        "risk_verdict": RiskVerdict.ok("hold: nothing to check"),
        "llm": {"prompt": SECRETS[0], "raw_answer": SECRETS[1]},
    }  # fmt: skip
    return FinishDecisionInput.model_validate({**fields, **kw})


def test_a_finished_decision_is_reported_once_without_prompt_answer_or_snapshot(
    engine: Engine,
) -> None:
    with Session(engine) as s, s.begin():
        finish(s, _finish())
    with Session(engine) as s, s.begin():
        finish(s, _finish(status=DecisionStatus.FAILED, error_code="X"))  # a re-answer
    chat, status = _events(engine)  # nothing new from the re-answer
    with Session(engine) as s:
        row = s.get(DecisionRecord, "dec-1-1")
    assert row is not None and row.completed_at is not None
    assert (chat.type, status.type) == (EventType.MODEL_CHAT, EventType.STATUS)
    assert chat.data == {
        "account_id": 1, "time": chat.data["time"], "decision_id": "dec-1-1", "seq": 1,
        "trigger_type": "schedule", "status": "hold", "operation": "hold", "symbol": None,
        "reasoning": "<b>waiting</b> for BTC", "verdict": "approved", "deny_reason": None,
        "deny_code": None, "error_code": None,
    }  # fmt: skip
    assert row.output == {"decision": Decision(operation="hold",
                                               reasoning="<b>waiting</b> for BTC").model_dump(
        mode="json")}  # fmt: skip
    assert (status.data["status"], status.data["reason"]) == ("Active", None)  # was Paused
    text = json.dumps([e.data for e in _events(engine)])
    assert not any(secret in text for secret in SECRETS)


def test_a_denied_decision_carries_its_verdict_and_an_unchanged_status_is_not_reported(
    engine: Engine,
) -> None:
    with Session(engine) as s, s.begin():
        s.get(Account, 1).status = "Active"  # type: ignore[union-attr]
    verdict = RiskVerdict.deny(DenyReason.LEVERAGE_EXCEEDS_MAX, "leverage 50 exceeds 5")
    decision = Decision(operation="long", symbol="BTC", size_usd=D(100), leverage=D(50))
    with Session(engine) as s, s.begin():
        finish(s, _finish(status=DecisionStatus.DENIED, decision=decision, risk_verdict=verdict))
    (chat,) = _events(engine)  # the trader stays Active: no status_update
    assert (chat.data["verdict"], chat.data["deny_code"], chat.data["deny_reason"]) == (
        "denied",
        "LEVERAGE_EXCEEDS_MAX",
        "leverage 50 exceeds 5",
    )
    assert (chat.data["operation"], chat.data["symbol"], chat.data["status"]) == (
        "long",
        "BTC",
        "denied",
    )


def test_a_note_is_reported(engine: Engine) -> None:
    note = RecordNoteInput(account_id=2, decision_id="dec-2-1", seq=1,
                           status=DecisionStatus.IGNORED, trigger_type="signal",
                           error="trader is paused", trigger_key="note-r-1")  # fmt: skip
    with Session(engine) as s, s.begin():
        record_note(s, note)
    with Session(engine) as s, s.begin():
        record_note(s, note)  # recorded once: found by its key
    (chat,) = _events(engine)
    assert (chat.data["decision_id"], chat.data["status"], chat.data["error_code"]) == (
        "dec-2-1",
        "ignored",
        "IGNORED",
    )
    assert chat.data["operation"] is None and chat.data["verdict"] is None


def test_the_workflow_status_is_reported_when_it_changes(engine: Engine) -> None:
    for status, reason in (("Paused", "lunch"), ("Paused", "lunch"), ("Active", None)):
        with Session(engine) as s, s.begin():
            record_status(s, 2, status, reason)
    with Session(engine) as s, s.begin():
        s.get(Account, 1).is_deleted = True  # type: ignore[union-attr]
    with Session(engine) as s, s.begin():
        record_status(s, 1, "Active", None)  # a deleted trader's row is left alone
    got = [(e.account_id, e.data["status"], e.data["reason"]) for e in _events(engine)]
    assert got == [(2, "Paused", "lunch"), (2, "Active", None)]


def test_the_apis_status_writes_are_reported_in_their_flush(engine: Engine) -> None:
    with ReportingSession(engine) as s, s.begin():
        acct = s.get(Account, 2)
        assert acct is not None
        acct.status, acct.status_reason = "Paused", "by hand"
        s.add(Account(id=3, name="new", account_type="program", initial_capital=D(1),
                      max_leverage=D(1), max_position_notional_usd=D(1),
                      max_concurrent_positions=1, symbols=["BTC"]))  # fmt: skip
    with ReportingSession(engine) as s, s.begin():
        acct = s.get(Account, 2)
        assert acct is not None
        acct.status = "Paused"  # as it was: nothing to report
        acct.trading_enabled = False
    with ReportingSession(engine) as s, s.begin():
        acct = s.get(Account, 2)
        assert acct is not None
        acct.is_deleted, acct.status = True, "Deleted"
    got = [(e.account_id, e.data["status"], e.data["reason"]) for e in _events(engine)]
    assert got == [(2, "Paused", "by hand"), (2, "Deleted", "by hand")]


def test_an_api_write_of_the_status_the_workflow_just_recorded_is_no_change(
    engine: Engine,
) -> None:
    """A resume: the API loaded the trader Paused, the workflow records Active meanwhile, then
    the API writes Active too. One change, reported once (by the workflow's record)."""
    with ReportingSession(engine) as api:
        acct = api.get(Account, 1)
        assert acct is not None and acct.status == "Paused"
        with Session(engine) as s, s.begin():
            record_status(s, 1, "Active", None)
        acct.status, acct.status_reason = "Active", None
        api.commit()
    got = [(e.account_id, e.data["status"]) for e in _events(engine)]
    assert got == [(1, "Active")]


def test_a_cancel_is_reported_once(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-1-1-entry:tp", decision_id="dec-1-1", account_id=1,
                          leg="tp", symbol="BTC", side="sell", reduce_only=True,
                          leverage=D(2), status="submitted", exchange_order_id="77"))  # fmt: skip
    with Session(engine) as s, s.begin():
        set_order_status(s, "ho-1-1-entry:tp", OrderStatus.CANCELLED, "cancel")
    with Session(engine) as s:
        row = s.get(OrderRecord, "ho-1-1-entry:tp")
    with Session(engine) as s, s.begin():  # the venue says it again: no second cancel
        set_order_status(s, "ho-1-1-entry:tp", OrderStatus.CANCELLED, "cancel")
    (cancel,) = _events(engine)
    assert row is not None and row.status == "cancelled"
    assert cancel.type is EventType.TRADE
    assert {k: cancel.data[k] for k in ("kind", "symbol", "side", "client_order_id")} == {
        "kind": "cancel",
        "symbol": "BTC",
        "side": "sell",
        "client_order_id": "ho-1-1-entry:tp",
    }
    assert cancel.data["exchange_order_id"] == "77"
    assert _same_instant(cancel.data["time"], row.updated_at)


def _same_instant(text: object, at: object) -> bool:
    from datetime import UTC, datetime

    assert isinstance(text, str) and isinstance(at, datetime)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) == at


def _venue_fill(tid: str, side: str, size: str, price: str, t: int) -> SimpleNamespace:
    return SimpleNamespace(trade_id=tid, exchange_order_id=f"o{tid}", venue_client_id=None,
                           symbol="BTC", side=side, size=D(size), price=D(price),
                           fee=D("0.01"), realized_pnl=D(0), time_ms=t,
                           liquidation=False)  # fmt: skip


def test_live_fills_are_recorded_once_with_the_position_they_make(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-1-1-entry", decision_id="dec-1-1", account_id=1,
                          leg="entry", symbol="BTC", side="buy", leverage=D("3.7"),
                          status="filled"))  # fmt: skip
    first = [_venue_fill("2", "buy", "3", "200", 2), _venue_fill("1", "buy", "1", "100", 1)]
    with Session(engine) as s, s.begin():
        assert record_fills(s, 1, first) == 2
    with Session(engine) as s, s.begin():  # the same fills again, and the close
        assert record_fills(s, 1, [*first, _venue_fill("3", "sell", "4", "190", 3)]) == 1
    got = _events(engine)
    with Session(engine) as s:
        trades = list(s.scalars(select(TradeRecord).order_by(TradeRecord.id)))
    assert [t.trade_id for t in trades] == ["1", "2", "3"]  # in the venue's order
    assert [(e.type, e.data.get("trade_id") or e.data["kind"]) for e in got] == [
        (EventType.TRADE, "1"),
        (EventType.TRADE, "2"),
        (EventType.POSITION, "opened"),
        (EventType.TRADE, "3"),
        (EventType.POSITION, "closed"),
    ]
    opened = got[2].data
    assert (opened["side"], D(opened["size"]), D(opened["entry_price"])) == ("long", 4, 175)
    assert opened["leverage"] == "3"  # what placement set at the venue: an integer
    assert opened["mark_price"] is None and opened["unrealized_pnl"] is None
    assert got[0].data["exchange_order_id"] == "o1" and D(got[0].data["fee"]) == D("0.01")
