"""Reconciliation: compare the exchange's truth with the platform's records, settle what can be
settled and record every finding as a `reconciliation_events` row (once per finding).

Runs inside the sync activity, after the venue's fills were recorded (deduplicated by trade id).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.exchanges.base import AccountView
from activities.exchanges.router import ExchangeRouter
from db.models import DecisionRecord, OrderRecord, ReconciliationEvent, TradeRecord
from domain.orders import OrderStatus

# Orders the platform does not consider settled; reconciliation asks the venue about them.
UNSETTLED = (OrderStatus.UNKNOWN, OrderStatus.INTENT)


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


class Reconciler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], exchange: ExchangeRouter):
        self.sessions = sessions
        self.exchange = exchange

    async def last_trade_row(self, account_id: int) -> int:
        async with self.sessions() as s:
            last = await s.scalar(
                select(func.max(TradeRecord.id)).where(TradeRecord.account_id == account_id)
            )
        return int(last or 0)

    async def run(
        self, account_id: int, reason: str, view: AccountView, trades_before: int
    ) -> ReconcileReport:
        findings = await self._new_fills(account_id, trades_before)
        report = ReconcileReport(fills_recorded=len(findings))
        resolved = await self._settle_orders(account_id)
        report.orders_resolved = len(resolved)
        drift = await self._position_drift(account_id, view)
        drift += await self._unexpected_orders(account_id)
        report.drift = len(drift)
        await self._record(account_id, reason, findings + resolved + drift)
        return report

    async def _new_fills(self, account_id: int, after_row: int) -> list[Finding]:
        async with self.sessions() as s:
            rows = list(
                await s.scalars(
                    select(TradeRecord).where(
                        TradeRecord.account_id == account_id, TradeRecord.id > after_row
                    )
                )
            )
        return [
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
            for t in rows
        ]

    async def _settle_orders(self, account_id: int) -> list[Finding]:
        """Unknown orders, and intents of finished decisions: record what the venue says."""
        async with self.sessions() as s:
            rows = list(
                await s.scalars(
                    select(OrderRecord)
                    .join(DecisionRecord, DecisionRecord.id == OrderRecord.decision_id)
                    .where(
                        OrderRecord.account_id == account_id,
                        OrderRecord.status.in_([str(x) for x in UNSETTLED]),
                        DecisionRecord.completed_at.is_not(None),
                    )
                )
            )
        found: list[Finding] = []
        for order in rows:
            was = order.status
            now = await self.exchange.settle(account_id, order)
            if now is not None and now != was:
                found.append(
                    Finding(
                        "order_resolved",
                        order.client_order_id,
                        f"order:{order.client_order_id}:{now}",
                        {"from": was, "to": now, "symbol": order.symbol},
                    )
                )
        return found

    async def _position_drift(self, account_id: int, view: AccountView) -> list[Finding]:
        """Venue position vs. the net of the fills the platform recorded."""
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(TradeRecord.symbol, TradeRecord.side, TradeRecord.size).where(
                        TradeRecord.account_id == account_id
                    )
                )
            ).all()
        recorded: dict[str, Decimal] = {}
        for symbol, side, size in rows:
            recorded[symbol] = recorded.get(symbol, Decimal(0)) + (size if side == "buy" else -size)
        venue = {p.symbol: p.size if p.side == "long" else -p.size for p in view.positions}
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

    async def _unexpected_orders(self, account_id: int) -> list[Finding]:
        async with self.sessions() as s:
            ours = set(
                await s.scalars(
                    select(OrderRecord.client_order_id).where(OrderRecord.account_id == account_id)
                )
            )
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
