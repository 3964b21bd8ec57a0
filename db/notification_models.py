"""Notification tables (domain/notifications.py): each user's channels, every delivery made to
them, and the notifier's cursor over the live stream's events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from domain.notifications import ChannelStatus, DeliveryStatus


class NotificationChannel(Base):
    """A webhook or a Telegram chat. The webhook's signing secret or the bot token is sealed
    (envelope-encrypted, bound to this channel's id and SECRET_FIELD); never shown again."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # webhook | telegram
    url: Mapped[str | None] = mapped_column(String(2000), default=None)  # webhook
    telegram_base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # None only after `drop-unreadable-secrets` (its master key lost): nothing can be sent.
    secret_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    secret_hint: Mapped[str] = mapped_column(String(16))
    events: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default=ChannelStatus.OK.value)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationDelivery(Base):
    """One message to one channel. `id` is stable (domain.notifications.delivery_id of the
    channel and `key`), and (channel, key) is unique: a re-run of the step that records
    deliveries adds no second row."""

    __tablename__ = "notification_deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id"))
    key: Mapped[str] = mapped_column(String(128))  # event:<id> | daily_summary:<day> | test:..
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[int | None] = mapped_column(default=None)
    account_id: Mapped[int | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the message; never a secret
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("channel_id", "key", name="uq_notification_deliveries_channel_key"),
        Index("ix_notification_deliveries_status", "status"),
        Index("ix_notification_deliveries_channel_created", "channel_id", "created_at"),
    )


class NotificationCursor(Base):
    """How far the notifier has read the events: moved in the transaction that records the
    deliveries of the events it passed. `gaps`: ids below it not yet committed when it passed
    them (PostgreSQL commits ids out of order), looked for again for a while."""

    __tablename__ = "notification_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
    gaps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"<id>": first seen iso}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
