"""The mapped classes' tables, for SQLAlchemy Core statements on a decision's path.

A decision's steps run several statements each; through the ORM (identity map, unit of work,
entity loading) they cost more CPU than the statements themselves (db/decisions.py).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from db.models import (
    Account,
    Binding,
    BreakerStateRecord,
    DecisionRecord,
    EquitySnapshot,
    EquityThinning,
    EventRecord,
    FundingPaymentRecord,
    OrderRecord,
    PaperAccountRecord,
    Program,
    ReconciliationEvent,
    RoundTripRecord,
    TradeRecord,
)

ACCOUNTS = cast(Table, Account.__table__)
BINDINGS = cast(Table, Binding.__table__)
BREAKER_STATES = cast(Table, BreakerStateRecord.__table__)
DECISIONS = cast(Table, DecisionRecord.__table__)
EVENTS = cast(Table, EventRecord.__table__)
ORDERS = cast(Table, OrderRecord.__table__)
PAPER_ACCOUNTS = cast(Table, PaperAccountRecord.__table__)
PROGRAMS = cast(Table, Program.__table__)
RECONCILIATION_EVENTS = cast(Table, ReconciliationEvent.__table__)
TRADES = cast(Table, TradeRecord.__table__)
ROUND_TRIPS = cast(Table, RoundTripRecord.__table__)
EQUITY_SNAPSHOTS = cast(Table, EquitySnapshot.__table__)
EQUITY_THINNING = cast(Table, EquityThinning.__table__)
FUNDING_PAYMENTS = cast(Table, FundingPaymentRecord.__table__)
