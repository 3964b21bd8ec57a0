"""The daily summary (README "Notifications"): each user's traders over one UTC day, and its
delivery to every channel that wants it, once per channel and day (db/notifications.py sends)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Account, EquitySnapshot, TradeRecord
from db.notification_models import NotificationChannel, NotificationDelivery
from db.notifications import add_delivery
from domain.notifications import (
    CollectResult,
    DeliveryStatus,
    NotifyKind,
    TraderDay,
    delivery_id,
    summary_key,
    summary_text,
)


def trader_days(s: Session, user_id: int, day: date) -> list[TraderDay]:
    """Each of the user's traders on `day` (UTC): equity at its end, PnL over it, fills, fees."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    out: list[TraderDay] = []
    accounts = s.scalars(
        select(Account)
        .where(Account.owner_id == user_id, Account.is_deleted.is_(False))
        .order_by(Account.id)
    )
    for acct in accounts:
        equity_end = _equity_at(s, acct.id, end)
        equity_start = _equity_at(s, acct.id, start)
        if equity_start is None and equity_end is not None:
            equity_start = acct.initial_capital  # the trader's first day
        # Summed here, not in SQL: SQLite would add the decimals as floats.
        fills = s.execute(
            select(TradeRecord.fee, TradeRecord.realized_pnl).where(
                TradeRecord.account_id == acct.id,
                TradeRecord.created_at >= start,
                TradeRecord.created_at < end,
            )
        ).all()
        fees = sum((Decimal(f) for f, _ in fills), Decimal(0))
        realized = sum((Decimal(r) for _, r in fills), Decimal(0))
        out.append(
            TraderDay(
                account_id=acct.id,
                name=acct.name,
                equity=equity_end,
                pnl=None
                if equity_end is None or equity_start is None
                else equity_end - equity_start,
                realized_pnl=realized,
                trades=len(fills),
                fees=fees,
            )
        )
    return out


def _equity_at(s: Session, account_id: int, before: datetime) -> Decimal | None:
    value = s.scalar(
        select(EquitySnapshot.equity)
        .where(EquitySnapshot.account_id == account_id, EquitySnapshot.time < before)
        .order_by(EquitySnapshot.time.desc(), EquitySnapshot.id.desc())
        .limit(1)
    )
    return None if value is None else Decimal(value)


def summary_payload(day: date, traders: list[TraderDay]) -> dict[str, Any]:
    return {
        "kind": NotifyKind.DAILY_SUMMARY.value,
        "text": summary_text(day, traders),
        "day": day.isoformat(),
        "traders": [t.model_dump(mode="json") for t in traders],
    }


def collect_summary(s: Session, day: date) -> CollectResult:
    """The daily summary of `day` for every channel that wants it (once per channel and day)."""
    channels = s.scalars(
        select(NotificationChannel).where(NotificationChannel.enabled.is_(True))
    ).all()
    by_user: dict[int, dict[str, Any]] = {}
    ids: list[str] = []
    created = 0
    for ch in channels:
        if NotifyKind.DAILY_SUMMARY.value not in ch.events:
            continue
        if ch.user_id not in by_user:
            by_user[ch.user_id] = summary_payload(day, trader_days(s, ch.user_id, day))
        created += add_delivery(s, ch, summary_key(day), by_user[ch.user_id])
        ids.append(delivery_id(ch.id, summary_key(day)))
    s.flush()
    waiting = set(
        s.scalars(
            select(NotificationDelivery.id).where(
                NotificationDelivery.id.in_(ids),
                NotificationDelivery.status == DeliveryStatus.PENDING.value,
            )
        )
    )
    return CollectResult(pending=[i for i in ids if i in waiting], created=created)
