"""Reconciliation: compare the exchange's truth with the platform's records, settle what can be
settled and record every finding as a `reconciliation_events` row (once per finding).

A settled order's `order_resolved` finding is written with its status (db/order_status.py), not
with the other findings at the end: those come after more venue calls, and a reader in between,
or a failure of one of them, would otherwise see the order settled without its finding.

Runs inside the sync activity, after the venue's fills were recorded (deduplicated by trade id).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.exchanges.base import AccountView, Unsettled
from adapters.exchanges.router import ExchangeRouter
from db.models import ReconciliationEvent
from db.order_status import UNSETTLED
from db.tables import DECISIONS, ORDERS, TRADES
from db.transactions import read
from domain.vocabulary import PositionSide, Side


@dataclass
class Finding:
    kind: str
    subject: str
    fingerprint: str
    detail: dict[str, Any]


@dataclass
class ReconcileReport:
    fills_recorded: int = 0
    orders_resolved: int = 0
    drift: int = 0


@dataclass
class Recorded:
    """What the platform recorded for an account, read in one transaction."""

    new_fills: list[Finding]
    unsettled: list[Unsettled]
    net_sizes: dict[str, Decimal]  # symbol -> net size of the recorded fills (buy +, sell -)
    client_order_ids: set[str] | None  # ours, only where the venue can hold foreign orders


# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT: BindParameter[int] = bindparam("b_account")
_LAST_TRADE = select(func.max(TRADES.c.id)).where(TRADES.c.account_id == _ACCOUNT)
_NEW_FILLS = select(
    TRADES.c.trade_id,
    TRADES.c.client_order_id,
    TRADES.c.symbol,
    TRADES.c.side,
    TRADES.c.size,
    TRADES.c.price,
    TRADES.c.trigger,
).where(TRADES.c.account_id == _ACCOUNT, TRADES.c.id > bindparam("b_after"))
_UNSETTLED = (
    select(ORDERS.c.client_order_id, ORDERS.c.symbol, ORDERS.c.status)
    .join(DECISIONS, DECISIONS.c.id == ORDERS.c.decision_id)
    .where(
        ORDERS.c.account_id == _ACCOUNT,
        ORDERS.c.status.in_([str(x) for x in UNSETTLED]),
        DECISIONS.c.completed_at.is_not(None),
    )
)
_FILL_SIZES = select(TRADES.c.symbol, TRADES.c.side, TRADES.c.size).where(
    TRADES.c.account_id == _ACCOUNT
)
_CLIENT_ORDER_IDS = select(ORDERS.c.client_order_id).where(ORDERS.c.account_id == _ACCOUNT)


def last_trade_row(s: Session, account_id: int) -> int:
    return int(s.connection().execute(_LAST_TRADE, {"b_account": account_id}).scalar() or 0)


def recorded(s: Session, account_id: int, after_row: int, foreign_orders: bool) -> Recorded:
    conn = s.connection()
    key = {"b_account": account_id}
    fills = [
        Finding(
            "fill_recorded",
            t.trade_id,
            f"fill:{t.trade_id}",
            {
                "client_order_id": t.client_order_id,
                "symbol": t.symbol,
                "side": t.side,
                "size": str(t.size),
                "price": str(t.price),
                "trigger": t.trigger,
            },
        )
        for t in conn.execute(_NEW_FILLS, {**key, "b_after": after_row})
    ]
    unsettled = [Unsettled(*row) for row in conn.execute(_UNSETTLED, key)]
    net: dict[str, Decimal] = {}
    for symbol, side, size in conn.execute(_FILL_SIZES, key):
        net[symbol] = net.get(symbol, Decimal(0)) + (size if side == Side.BUY else -size)
    ours = set(conn.execute(_CLIENT_ORDER_IDS, key).scalars()) if foreign_orders else None
    return Recorded(fills, unsettled, net, ours)


class Reconciler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], exchange: ExchangeRouter):
        self.sessions = sessions
        self.exchange = exchange

    async def run(
        self, account_id: int, reason: str, view: AccountView, trades_before: int
    ) -> ReconcileReport:
        # Why one read: each session and statement through the event loop costs more than the
        # statements themselves, and most syncs find nothing (a start, a quiet account).
        foreign = not await self.exchange.is_paper(account_id)  # paper holds only ours
        rec = await read(self.sessions, lambda s: recorded(s, account_id, trades_before, foreign))
        report = ReconcileReport(fills_recorded=len(rec.new_fills))
        report.orders_resolved = await self._settle_orders(account_id, reason, rec.unsettled)
        drift = self._position_drift(rec.net_sizes, view)
        if rec.client_order_ids is not None:
            drift += await self._unexpected_orders(account_id, rec.client_order_ids)
        report.drift = len(drift)
        await self._record(account_id, reason, rec.new_fills + drift)
        return report

    async def _settle_orders(self, account_id: int, reason: str, rows: list[Unsettled]) -> int:
        """Unknown orders, and intents of finished decisions: record what the venue says, each
        with its `order_resolved` finding (router.settle). How many moved."""
        moved = 0
        for order in rows:
            now = await self.exchange.settle(account_id, order, reason)
            moved += now is not None and now != order.status
        return moved

    @staticmethod
    def _position_drift(recorded: dict[str, Decimal], view: AccountView) -> list[Finding]:
        """Venue position vs. the net of the fills the platform recorded."""
        venue = {
            p.symbol: p.size if p.side == PositionSide.LONG else -p.size for p in view.positions
        }
        found = []
        for symbol in sorted(set(recorded) | set(venue)):
            want, have = recorded.get(symbol, Decimal(0)), venue.get(symbol, Decimal(0))
            if want.normalize() != have.normalize():
                found.append(
                    Finding(
                        "position_drift",
                        symbol,
                        f"position:{symbol}:{have.normalize()}:{want.normalize()}",
                        {"venue_size": str(have), "recorded_size": str(want)},
                    )
                )
        return found

    async def _unexpected_orders(self, account_id: int, ours: set[str]) -> list[Finding]:
        return [
            Finding(
                "unexpected_order",
                str(o.get("exchange_order_id")),
                f"open:{o.get('exchange_order_id')}",
                {k: str(v) for k, v in o.items() if v is not None},
            )
            for o in await self.exchange.foreign_open_orders(account_id, ours)
        ]

    async def _record(self, account_id: int, reason: str, findings: list[Finding]) -> None:
        if not findings:
            return
        async with self.sessions() as s, s.begin():
            have = set(
                await s.scalars(
                    select(ReconciliationEvent.fingerprint).where(
                        ReconciliationEvent.account_id == account_id,
                        ReconciliationEvent.fingerprint.in_([f.fingerprint for f in findings]),
                    )
                )
            )
            for f in findings:
                if f.fingerprint in have:
                    continue
                have.add(f.fingerprint)
                s.add(
                    ReconciliationEvent(
                        account_id=account_id,
                        kind=f.kind,
                        subject=f.subject[:128],
                        reason=reason[:16],
                        detail=f.detail,
                        fingerprint=f.fingerprint[:255],
                    )
                )
