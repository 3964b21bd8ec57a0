"""The notifier's reads and writes (domain/notifications.py): turning the live stream's events
into deliveries behind a durable cursor, and each delivery's outcome (the daily summary:
db/daily_summary.py).

Every function takes a plain `Session` and runs inside the caller's transaction (see
db/transactions.py): the deliveries of the events read and the cursor past them commit together,
so a crash before the commit redoes the pass and one after it never repeats it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from db import events
from db.models import Account
from db.notification_models import NotificationChannel, NotificationCursor, NotificationDelivery
from domain.equity import utc
from domain.events import Event
from domain.notifications import (
    ChannelStatus,
    CollectResult,
    DeliveryStatus,
    delivery_id,
    event_key,
    event_text,
    kind_of,
)

log = logging.getLogger("hyperoru.notifications")

CURSOR = "events"
# An id below the cursor not committed when the cursor passed it is looked for this long.
GAP_WAIT = timedelta(seconds=60)
MAX_GAPS = 1000
# Deliveries handed to one pass of the notifier at most (the rest wait for the next one).
PENDING_PER_PASS = 100
# Longer than the workflows that send a summary or a test run (an hour at most).
LEFTOVER_AFTER = timedelta(minutes=90)
ERROR_CHARS = 500


def _cursor(s: Session) -> NotificationCursor:
    cur = s.get(NotificationCursor, CURSOR, with_for_update=True)
    if cur is None:
        cur = NotificationCursor(name=CURSOR, last_event_id=0, gaps={})
        s.add(cur)
        s.flush()
    return cur


def _channels_by_owner(s: Session, owner_ids: set[int]) -> dict[int, list[NotificationChannel]]:
    rows = s.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.user_id.in_(owner_ids), NotificationChannel.enabled.is_(True))
        .order_by(NotificationChannel.id)
    )
    out: dict[int, list[NotificationChannel]] = {}
    for ch in rows:
        out.setdefault(ch.user_id, []).append(ch)
    return out


def add_delivery(s: Session, ch: NotificationChannel, key: str, payload: dict[str, Any]) -> bool:
    """Record the delivery of `key` to `ch` unless it exists (a re-run); True if added."""
    did = delivery_id(ch.id, key)
    if s.get(NotificationDelivery, did) is not None:
        return False
    s.add(
        NotificationDelivery(
            id=did,
            channel_id=ch.id,
            key=key,
            kind=payload["kind"],
            event_id=payload.get("event_id"),
            account_id=payload.get("account_id"),
            payload=payload,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
        )
    )
    return True


def _deliveries_of(s: Session, evs: list[Event]) -> int:
    """Record every (event, channel wanting its kind) delivery; how many were new."""
    kinds = {e.id: kind_of(e.type, e.data) for e in evs}
    wanted = [e for e in evs if kinds[e.id] is not None]
    if not wanted:
        return 0
    accounts = {
        a.id: a
        for a in s.scalars(select(Account).where(Account.id.in_({e.account_id for e in wanted})))
    }
    owners = {a.owner_id for a in accounts.values() if a.owner_id is not None}
    channels = _channels_by_owner(s, owners)
    created = 0
    for e in wanted:
        kind = kinds[e.id]
        acct = accounts.get(e.account_id)
        if kind is None or acct is None or acct.owner_id is None:
            continue
        for ch in channels.get(acct.owner_id, []):
            # A channel hears of what happens after it was made, not of the kept backlog.
            if kind.value not in ch.events or utc(e.created_at) < utc(ch.created_at):
                continue
            payload = {
                "kind": kind.value,
                "text": event_text(kind, acct.name, e.data),
                "account_id": e.account_id,
                "trader": acct.name,
                "event_id": e.id,
                "event_type": e.type.value,
                "time": utc(e.created_at).isoformat(),
                "data": e.data,
            }
            created += add_delivery(s, ch, event_key(e.id), payload)
    return created


def pending(s: Session, now: datetime, limit: int | None = None) -> list[str]:
    """The deliveries a pass hands out: the events' not tried yet (new, or left by a pass that
    died before handing them out), and any other left pending by a workflow that ended without
    settling it. Not one being retried: its workflow is on it, and a receiver that is down
    (many deliveries being retried) must not fill the pass's list and hold up new ones. Nor a
    daily summary's or a test's while its own workflow sends it."""
    d = NotificationDelivery
    rows = s.scalars(
        select(d.id)
        .where(
            d.status == DeliveryStatus.PENDING.value,
            or_(
                and_(d.key.like("event:%"), d.attempts == 0),
                d.created_at < now - LEFTOVER_AFTER,
            ),
        )
        .order_by(d.created_at, d.id)
        .limit(PENDING_PER_PASS if limit is None else limit)
    )
    return list(rows)


def collect(s: Session, batch: int, now: datetime) -> CollectResult:
    """One pass over the events after the cursor: their deliveries recorded, the cursor moved
    past them, and the ids of every delivery still waiting."""
    cur = _cursor(s)
    gaps = {int(k): v for k, v in (cur.gaps or {}).items()}
    found = events.by_ids(s, gaps) if gaps else []
    for e in found:
        gaps.pop(e.id, None)
    read = events.after(s, cur.last_event_id, batch)
    expected = cur.last_event_id + 1
    if read and cur.last_event_id and read[0].id > expected:
        oldest = events.first_id(s)
        if oldest > expected:  # trimmed before they were read (the notifier was off too long)
            log.warning("notifications: events %d to %d were trimmed unread", expected, oldest - 1)
            expected = oldest
    # A first pass starts after the events trimmed before it: those are no gaps.
    for e in read if cur.last_event_id else []:
        for missing in range(expected, min(e.id, expected + MAX_GAPS)):
            if len(gaps) < MAX_GAPS:
                gaps[missing] = now.isoformat()
        expected = e.id + 1
    oldest_kept = now - GAP_WAIT
    gaps = {k: v for k, v in gaps.items() if utc(datetime.fromisoformat(v)) > oldest_kept}
    created = _deliveries_of(s, found + read)
    if read:
        cur.last_event_id = read[-1].id
    cur.gaps = {str(k): v for k, v in gaps.items()}
    s.flush()
    return CollectResult(pending=pending(s, now), events_read=len(read), created=created)


# ------------------------------------------------------------------------------ delivery


@dataclass(frozen=True)
class Target:
    """What one attempt needs: the delivery's message and its channel (secret still sealed)."""

    delivery_id: str
    status: str
    attempts: int
    payload: dict[str, Any]
    channel_id: int
    kind: str
    url: str | None
    telegram_base_url: str | None
    telegram_chat_id: str | None
    secret_sealed: str | None


def target(s: Session, did: str) -> Target | None:
    row = s.execute(
        select(NotificationDelivery, NotificationChannel)
        .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
        .where(NotificationDelivery.id == did)
    ).first()
    if row is None:
        return None
    d, ch = row
    return Target(
        d.id, d.status, d.attempts, d.payload, ch.id, ch.kind, ch.url,
        ch.telegram_base_url, ch.telegram_chat_id, ch.secret_sealed,
    )  # fmt: skip


def start_attempt(s: Session, did: str, now: datetime) -> int:
    """Count an attempt before it is made (a worker killed mid-send still counts it)."""
    s.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == did)
        .values(attempts=NotificationDelivery.attempts + 1, last_attempt_at=now)
    )
    return int(
        s.scalar(select(NotificationDelivery.attempts).where(NotificationDelivery.id == did)) or 0
    )


def delivered(s: Session, did: str, channel_id: int, now: datetime) -> None:
    s.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == did)
        .values(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)
    )
    # The receiver took it: whatever made the channel fail is over.
    s.execute(
        update(NotificationChannel)
        .where(NotificationChannel.id == channel_id)
        .values(status=ChannelStatus.OK.value, status_reason=None)
    )


def attempt_failed(s: Session, did: str, error: str) -> None:
    s.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == did)
        .values(last_error=error[:ERROR_CHARS])
    )


def give_up(s: Session, did: str, error: str) -> int:
    """No more attempts: the delivery failed (a pending one only: a late success stands).
    Returns its attempts."""
    s.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == did,
            NotificationDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.FAILED.value, last_error=error[:ERROR_CHARS])
    )
    return int(
        s.scalar(select(NotificationDelivery.attempts).where(NotificationDelivery.id == did)) or 0
    )


def refused(s: Session, did: str, channel_id: int, reason: str) -> None:
    """The receiver refused it (4xx): the delivery failed and the channel is failing."""
    give_up(s, did, reason)
    s.execute(
        update(NotificationChannel)
        .where(NotificationChannel.id == channel_id)
        .values(status=ChannelStatus.FAILING.value, status_reason=reason[:ERROR_CHARS])
    )
