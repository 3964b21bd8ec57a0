"""Each closed vocabulary is one enum, and what storage, settings, venues and programs take is
exactly that enum: a value added, renamed or dropped in one place and not the others fails here.
(The API's side: tests/api/test_vocabulary_api.py; bare strings in code: test_vocabulary_guard.)
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import Column, create_engine, text
from sqlalchemy.orm import Session

from adapters.exchanges.base import AccountView
from adapters.exchanges.binance import schemas as bn
from adapters.exchanges.hyperliquid import schemas as hl
from adapters.market.snapshot import snapshot_dict, snapshot_json
from config.settings import MARKET_SOURCES, sync_url
from db.models import Account, CandleRecord, DecisionRecord, OrderRecord, TradeRecord
from domain.contracts import DecisionOutcome, FinishDecisionInput, RecordNoteInput
from domain.decision import Operation
from domain.ids import OrderLeg
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.paper import PaperFill, PaperOrder, PaperPosition
from domain.risk import PositionView
from domain.trader import Note, TraderStatus
from domain.vocabulary import (
    AccountType,
    DecisionStatus,
    Exchange,
    ExchangeEnvironment,
    MarketSource,
    PositionSide,
    Side,
)

# Every column that holds a vocabulary, and the enum it holds (orders.leg also holds the
# protective kinds `tp` and `sl`).
COLUMNS: list[tuple[Any, type[StrEnum]]] = [
    (Account.account_type, AccountType),
    (Account.exchange, Exchange),
    (Account.exchange_environment, ExchangeEnvironment),
    (Account.status, TraderStatus),
    (DecisionRecord.status, DecisionStatus),
    (OrderRecord.leg, OrderLeg),
    (OrderRecord.side, Side),
    (OrderRecord.status, OrderStatus),
    (TradeRecord.side, Side),
    (CandleRecord.source, MarketSource),
]


@pytest.mark.parametrize("attr,enum", COLUMNS, ids=[str(c[0]) for c in COLUMNS])
def test_every_value_fits_its_column(attr: Any, enum: type[StrEnum]) -> None:
    """The columns are plain strings (no CHECK constraint): their length is what they accept."""
    column: Column[Any] = attr.property.columns[0]
    too_long = [m.value for m in enum if len(m.value) > column.type.length]
    assert not too_long, f"{column} holds {column.type.length} characters: {too_long}"
    default = column.default.arg if column.default is not None else None
    assert default is None or isinstance(default, enum), (column, default)


def test_members_are_stored_as_their_values(database_url: str) -> None:
    """A member written through the ORM lands as its value (not its name, as a driver's own
    Enum adapter would write it), on SQLite and PostgreSQL alike, and reads back as one."""
    engine = create_engine(sync_url(database_url))
    accounts = max(len(AccountType), len(Exchange), len(ExchangeEnvironment), len(TraderStatus))
    with Session(engine) as s:
        for i in range(accounts):
            s.add(Account(
                id=i + 1, name="t", initial_capital=Decimal(1000), max_leverage=Decimal(5),
                max_position_notional_usd=Decimal(1000), max_concurrent_positions=3,
                symbols=["BTC"], account_type=list(AccountType)[i % len(AccountType)],
                exchange=list(Exchange)[i % len(Exchange)],
                exchange_environment=list(ExchangeEnvironment)[i % len(ExchangeEnvironment)],
                status=list(TraderStatus)[i % len(TraderStatus)],
            ))  # fmt: skip
        s.flush()
        for n, status in enumerate(DecisionStatus):
            s.add(DecisionRecord(id=f"dec-1-{n}", account_id=1, trigger_type="manual",
                                 status=status))  # fmt: skip
        s.flush()
        for n, status in enumerate(OrderStatus):
            leg, side = list(OrderLeg)[n % len(OrderLeg)], list(Side)[n % len(Side)]
            s.add(OrderRecord(client_order_id=f"ho-1-{n}-{leg}", decision_id="dec-1-0",
                              account_id=1, leg=leg, symbol="BTC", side=side,
                              leverage=Decimal(1), status=status))  # fmt: skip
            s.add(TradeRecord(account_id=1, trade_id=f"t{n}", symbol="BTC", side=side,
                              size=Decimal(1), price=Decimal(1), fee=Decimal(0),
                              realized_pnl=Decimal(0)))  # fmt: skip
        for n, source in enumerate(MarketSource):
            s.add(CandleRecord(source=source, symbol="BTC", interval="1h", open_time_ms=n,
                               open=1, high=1, low=1, close=1, volume=1))  # fmt: skip
        s.commit()
        for attr, enum in COLUMNS:
            column = attr.property.columns[0]
            query = text(f"SELECT {column.name} FROM {column.table.name}")
            stored = set(s.execute(query).scalars())
            assert stored == {m.value for m in enum}, column
            assert all(type(v) is str for v in stored)
    engine.dispose()


def test_settings_accept_exactly_the_market_sources() -> None:
    assert tuple(MARKET_SOURCES) == tuple(m.value for m in MarketSource)


def test_venue_sides_translate_onto_every_side() -> None:
    """Each venue's two wire sides are the platform's two sides, both ways round."""
    assert {hl.side_name(w) for w in get_args(hl.WireSide)} == set(Side)
    assert {bn.side_name(w) for w in get_args(bn.WireSide)} == set(Side)
    assert type(bn.side_name("BUY")) is Side and type(hl.side_name("B")) is Side


def test_a_decision_opens_the_position_side_it_names() -> None:
    """A program's (or model's) `long`/`short` is the side of the position it opens."""
    opening = {Operation.LONG, Operation.SHORT}
    assert {op.value for op in opening} == {s.value for s in PositionSide}
    for side in PositionSide:
        assert side.entry_side.opens is side and side.exit_side is side.entry_side.opposite


def test_programs_see_positions_sides_as_their_values() -> None:
    """The sandbox's input: a position's side is the plain string it always was."""
    position = PositionView(symbol="BTC", side=PositionSide.SHORT, size=Decimal(1),
                            entry_price=Decimal(1), mark_price=Decimal(1), leverage=Decimal(1),
                            unrealized_pnl=Decimal(0))  # fmt: skip
    zero = Decimal(0)
    view = AccountView(cash_usd=zero, equity_usd=zero, available_usd=zero, used_margin_usd=zero,
                       realized_pnl_usd=zero, fees_paid_usd=zero, unrealized_pnl_usd=zero,
                       positions=[position])  # fmt: skip
    snap = json.loads(snapshot_json(snapshot_dict(["BTC"], 0, {}, {}, view, {})))
    assert snap["positions"][0]["side"] == "short"


# Fields that carry a vocabulary through workflow payloads and models.
TYPED = [
    (OrderIntent, "side", Side),
    (OrderIntent, "leg", OrderLeg),
    (PositionView, "side", PositionSide),
    (DecisionOutcome, "status", DecisionStatus),
    (FinishDecisionInput, "status", DecisionStatus),
    (RecordNoteInput, "status", DecisionStatus),
    (Note, "status", DecisionStatus),
]


@pytest.mark.parametrize("model,field,enum", TYPED, ids=[f"{m.__name__}.{f}" for m, f, _ in TYPED])
def test_payload_fields_are_typed_by_their_enum(model: Any, field: str, enum: type) -> None:
    assert model.model_fields[field].annotation is enum


def test_paper_dataclasses_hold_members_even_from_text() -> None:
    """Paper accounts are stored as JSON: read back, their sides are members again."""
    one, zero = Decimal(1), Decimal(0)
    stored: dict[str, Any] = {"position": "long", "order": "sell", "fill": "buy", "bad": "hold"}
    assert PaperPosition("BTC", stored["position"], one, one, one).side is PositionSide.LONG
    assert PaperOrder("ho-1-1-entry", "BTC", stored["order"]).side is Side.SELL
    assert PaperFill("t", "c", "BTC", stored["fill"], one, one, zero, zero).side is Side.BUY
    with pytest.raises(ValueError):
        PaperOrder("ho-1-1-entry", "BTC", stored["bad"])


def test_payloads_keep_their_wire_text() -> None:
    """Temporal payloads as recorded before the enums (tests/replay) validate and dump back to
    the same JSON."""
    intent = {
        "client_order_id": "ho-1-1-entry", "account_id": 1, "decision_id": "dec-1-1",
        "leg": "entry", "symbol": "BTC", "side": "buy", "reduce_only": False,
        "size_usd": "100", "leverage": "2", "take_profit_pct": None, "stop_loss_pct": None,
    }  # fmt: skip
    # A recorded intent is a market order sized in USD: the limit-order fields take their
    # defaults (domain/orders.py, the shared contract); every recorded field keeps its text.
    limit_defaults = {
        "order_type": "market", "limit_price": None, "time_in_force": None, "size_base": None
    }  # fmt: skip
    assert OrderIntent.model_validate(intent).model_dump(mode="json") == {
        **intent,
        **limit_defaults,
    }
    outcome = {"decision_id": "dec-1-2", "status": "rejected_input", "seq": 2, "decision": None,
               "risk_verdict": None, "error_code": None, "error": None, "orders": []}  # fmt: skip
    assert DecisionOutcome.model_validate(outcome).model_dump(mode="json") == outcome
    unknown_side = OrderOutcome(client_order_id="ho-1-1-entry", status=OrderStatus.UNKNOWN)
    assert unknown_side.model_dump(mode="json")["side"] == ""


def test_the_readme_explains_every_decision_status() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [m.value for m in DecisionStatus if f"`{m.value}`" not in readme]
    assert not missing, f"README's Decision statuses paragraph lacks {missing}"
