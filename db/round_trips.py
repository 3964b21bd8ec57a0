"""Round trips recorded when a position goes flat (domain/round_trips.py), in the transaction
of the fill that left it flat.

The exchanges call `record_after_fills` right after they insert fills (the paper exchange per
fill, a live one per batch), inside the caller's synchronous transaction (db/transactions.py).
It replays the symbol's fills from the first fill of the last recorded round trip (whose last
fill may have opened the next one: a flip) and records every round trip closed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.base import utcnow
from db.funding import paid_between
from db.tables import BINDINGS, DECISIONS, FUNDING_PAYMENTS, ORDERS, ROUND_TRIPS, TRADES
from domain.round_trips import (
    ExitReason,
    OrderFacts,
    RoundTrip,
    TripFill,
    decided_exit,
    our_order_id,
    reopened_size,
    replay,
    venue_ids,
)
from domain.vocabulary import PositionSide, Side

_ACCOUNT: BindParameter[int] = bindparam("b_account")
_SYMBOL: BindParameter[str] = bindparam("b_symbol")
_IDS: BindParameter[list[str]] = bindparam("b_ids", expanding=True)


@dataclass(frozen=True)
class Tables:
    """The tables a recorder reads and writes: today's (db/tables.py), or the migration's
    frozen copies as they were at its revision (a backfill must not follow later changes)."""

    trades: Table
    orders: Table
    decisions: Table
    bindings: Table
    round_trips: Table
    funding: Table | None = None  # funding_payments (from migration 0016 on)


class Recorder:
    """The statements over one set of `Tables`, built once, values bound at execution."""

    def __init__(self, t: Tables) -> None:
        trips, trades, orders, decisions = t.round_trips, t.trades, t.orders, t.decisions
        self.last_trips = (
            select(trips.c.side, trips.c.size, trips.c.first_fill_id, trips.c.last_fill_id)
            .where(trips.c.account_id == _ACCOUNT, trips.c.symbol == _SYMBOL)
            .order_by(trips.c.last_fill_id.desc())
            .limit(2)
        )
        self.fills = (
            select(
                trades.c.id,
                trades.c.client_order_id,
                trades.c.side,
                trades.c.size,
                trades.c.price,
                trades.c.fee,
                trades.c.realized_pnl,
                trades.c.trigger,
                trades.c.created_at,
            )
            .where(
                trades.c.account_id == _ACCOUNT,
                trades.c.symbol == _SYMBOL,
                trades.c.id >= bindparam("b_from"),
            )
            .order_by(trades.c.id)
        )
        self.traded = select(trades.c.account_id, trades.c.symbol).distinct()
        self.order_ids = select(orders.c.client_order_id).where(
            orders.c.account_id == _ACCOUNT, orders.c.symbol == _SYMBOL
        )
        self.orders = (
            select(
                orders.c.client_order_id,
                orders.c.decision_id,
                orders.c.leverage,
                decisions.c.trigger_key,
            )
            .join(decisions, decisions.c.id == orders.c.decision_id)
            .where(orders.c.account_id == _ACCOUNT, orders.c.client_order_id.in_(_IDS))
        )
        self.funding = t.funding
        bindings = t.bindings
        self.entry_decisions = (
            select(
                decisions.c.id,
                decisions.c.trigger_type,
                bindings.c.program_id,
                bindings.c.prompt_id,
            )
            .outerjoin(bindings, bindings.c.id == decisions.c.binding_id)
            .where(decisions.c.id.in_(_IDS))
        )
        # A round trip already recorded (its closing fill is unique) is left as it is.
        self.insert = {
            name: dialect.insert(trips).on_conflict_do_nothing()
            for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
        }

    def record(self, conn: Connection, account_id: int, symbol: str) -> int:
        """Record the round trips closed since the last recorded one; how many."""
        key = {"b_account": account_id, "b_symbol": symbol}
        last, before = [*conn.execute(self.last_trips, key), None, None][:2]
        fills = self.fills_of(conn, account_id, symbol, last.first_fill_id if last else 0)
        first_entry = None
        if last is not None and before is not None and before.last_fill_id == last.first_fill_id:
            # Its first fill was a flip (it also closed the one before): only part of it opened.
            later = [f for f in fills[1:] if f.row <= last.last_fill_id]
            first_entry = reopened_size(PositionSide(last.side), last.size, later)
        done = last.last_fill_id if last is not None else 0
        trips = [t for t in replay(fills, first_entry) if t.last_fill_row > done]
        return self.insert_trips(conn, account_id, symbol, trips)

    def backfill(self, conn: Connection) -> int:
        """Record every round trip the recorded fills close, for every trader and symbol."""
        traded = sorted((r.account_id, r.symbol) for r in conn.execute(self.traded))
        return sum(self.record(conn, account_id, symbol) for account_id, symbol in traded)

    def fills_of(
        self, conn: Connection, account_id: int, symbol: str, from_row: int
    ) -> list[TripFill]:
        """The symbol's fills from trades row `from_row` on, each with the order of ours it
        filled (the venue's form of our id looked up among the trader's orders)."""
        key = {"b_account": account_id, "b_symbol": symbol}
        rows = conn.execute(self.fills, {**key, "b_from": from_row}).all()
        reported = {r.client_order_id for r in rows if r.client_order_id and r.trigger is None}
        known: dict[str, str] = {}
        if any(our_order_id(c, {}) is None for c in reported):
            known = venue_ids(conn.execute(self.order_ids, key).scalars())
        ours = {c: our_order_id(c, known) for c in reported}
        wanted = sorted({o for o in ours.values() if o is not None})
        found = conn.execute(self.orders, {**key, "b_ids": wanted}) if wanted else ()
        facts = {
            r.client_order_id: OrderFacts(
                r.decision_id,
                r.leverage,
                owner_close=decided_exit(r.trigger_key) is ExitReason.MANUAL_CLOSE,
                breaker_close=decided_exit(r.trigger_key) is ExitReason.CIRCUIT_BREAKER,
            )
            for r in found
        }
        out = []
        for r in rows:
            order_id = None if r.trigger is not None else ours.get(r.client_order_id)
            out.append(
                TripFill(
                    row=r.id,
                    side=Side(r.side),
                    size=r.size,
                    price=r.price,
                    fee=r.fee,
                    realized_pnl=r.realized_pnl,
                    at=r.created_at,
                    trigger=r.trigger,
                    order_id=order_id,
                    order=facts.get(order_id) if order_id else None,
                )
            )
        return out

    def insert_trips(
        self, conn: Connection, account_id: int, symbol: str, trips: Sequence[RoundTrip]
    ) -> int:
        """Insert `trips` with their entry decision's trigger and strategy; how many were new."""
        if not trips:
            return 0
        wanted = sorted({t.entry_decision_id for t in trips if t.entry_decision_id})
        found = conn.execute(self.entry_decisions, {"b_ids": wanted}) if wanted else ()
        entry = {r.id: r for r in found}
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for t in trips:
            decision = entry.get(t.entry_decision_id or "")
            funding = t.funding
            if self.funding is not None:
                funding += paid_between(
                    conn, self.funding, account_id, symbol, t.opened_at, t.closed_at
                )
            rows.append(
                {
                    "account_id": account_id,
                    "symbol": symbol,
                    "side": t.side.value,
                    "opened_at": t.opened_at,
                    "closed_at": t.closed_at,
                    "entry_price": t.entry_price,
                    "exit_price": t.exit_price,
                    "size": t.size,
                    "notional": t.notional,
                    "leverage": t.leverage,
                    "fees": t.fees,
                    "funding": funding,
                    "gross_pnl": t.gross_pnl,
                    "net_pnl": t.net_pnl - (funding - t.funding),
                    "exit_reason": t.exit_reason.value,
                    "entry_decision_id": t.entry_decision_id,
                    "exit_decision_id": t.exit_decision_id,
                    "trigger_type": decision.trigger_type if decision else None,
                    "program_id": decision.program_id if decision else None,
                    "prompt_id": decision.prompt_id if decision else None,
                    "first_fill_id": t.first_fill_row,
                    "last_fill_id": t.last_fill_row,
                    "fill_count": t.fill_count,
                    "created_at": now,
                }
            )
        new = 0
        for row in rows:  # one by one: the count of rows actually added is exact everywhere
            new += int(conn.execute(self.insert[conn.dialect.name], row).rowcount or 0)
        return new


_CURRENT = Recorder(Tables(TRADES, ORDERS, DECISIONS, BINDINGS, ROUND_TRIPS, FUNDING_PAYMENTS))


def record_after_fills(s: Session, account_id: int, symbols: Iterable[str]) -> int:
    """Record the round trips the fills just recorded for `symbols` closed; how many."""
    s.flush()  # fills added through the ORM (the live exchanges) are read back below
    conn = s.connection()
    return sum(_CURRENT.record(conn, account_id, symbol) for symbol in sorted(set(symbols)))
