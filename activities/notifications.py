"""The notifier's activities (workflows/notify.py): record deliveries from the live stream's
events (or the daily summary), and send one delivery.

They take ids only: a channel's secret is opened here, from the database, for the one request
that needs it, and never leaves this function (not in a result, an error or a log line).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.notify import (
    DeliveryRefused,
    DeliveryRetryable,
    send_telegram,
    send_webhook,
    webhook_body,
)
from db import daily_summary, notifications
from db.base import utcnow
from db.session import Sessions
from db.transactions import read, write
from domain.notifications import (
    SECRET_FIELD,
    ChannelKind,
    CollectInput,
    CollectResult,
    CollectSummaryInput,
    DeliverInput,
    DeliveryResult,
    DeliveryStatus,
    GiveUpInput,
    NotifyActivity,
)
from vault import KeyWrapper, SealedSecret, Secret, open_secret

# The error type a retryable failure is raised with (the workflow's retry policy retries it).
RETRYABLE = "DeliveryRetryable"


class NotifyActivities:
    def __init__(self, sessions: Sessions, vault: KeyWrapper, allow_private: bool = False) -> None:
        self.sessions = sessions
        self.vault = vault
        self.allow_private = allow_private

    @activity.defn(name=NotifyActivity.COLLECT)
    async def collect_notifications(self, req: CollectInput) -> CollectResult:
        now = utcnow()
        return await write(self.sessions, lambda s: notifications.collect(s, req.batch, now))

    @activity.defn(name=NotifyActivity.COLLECT_SUMMARY)
    async def collect_daily_summary(self, req: CollectSummaryInput) -> CollectResult:
        return await write(self.sessions, lambda s: daily_summary.collect_summary(s, req.day))

    @activity.defn(name=NotifyActivity.GIVE_UP)
    async def give_up_delivery(self, req: GiveUpInput) -> DeliveryResult:
        did = req.delivery_id
        attempts = await write(self.sessions, lambda s: notifications.give_up(s, did, req.error))
        return DeliveryResult(
            delivery_id=did, status=DeliveryStatus.FAILED, attempts=attempts, error=req.error
        )

    @activity.defn(name=NotifyActivity.DELIVER)
    async def deliver_notification(self, req: DeliverInput) -> DeliveryResult:
        did = req.delivery_id
        t = await read(self.sessions, lambda s: notifications.target(s, did))
        if t is None:  # its channel was deleted meanwhile
            return DeliveryResult(delivery_id=did, status=DeliveryStatus.FAILED, error="gone")
        if t.status != DeliveryStatus.PENDING:  # a re-run after it was sent: never twice
            return DeliveryResult(
                delivery_id=did, status=DeliveryStatus(t.status), attempts=t.attempts
            )
        now = utcnow()
        attempts = await write(self.sessions, lambda s: notifications.start_attempt(s, did, now))
        try:
            if t.secret_sealed is None:
                raise DeliveryRefused(
                    "the channel's secret was dropped (its master key was lost): rotate the "
                    "webhook secret or set the bot token again"
                )
            sealed = SealedSecret.from_json(t.secret_sealed)
            secret = Secret(open_secret(self.vault, sealed, t.channel_id, SECRET_FIELD))
            if t.kind == ChannelKind.WEBHOOK:
                body = webhook_body(did, t.channel_id, t.payload)
                await send_webhook(
                    t.url or "", secret, did, body, req.http_timeout_s, self.allow_private
                )
            else:
                text = str(t.payload.get("text") or "")
                await send_telegram(
                    t.telegram_base_url,
                    secret,
                    t.telegram_chat_id or "",
                    text,
                    req.http_timeout_s,
                    self.allow_private,
                )
        except DeliveryRefused as err:
            reason = str(err)
            await write(
                self.sessions, lambda s: notifications.refused(s, did, t.channel_id, reason)
            )
            return DeliveryResult(
                delivery_id=did, status=DeliveryStatus.FAILED, attempts=attempts, error=reason
            )
        except DeliveryRetryable as err:
            reason = str(err)
            await write(self.sessions, lambda s: notifications.attempt_failed(s, did, reason))
            raise ApplicationError(reason, type=RETRYABLE) from None
        done = utcnow()
        await write(self.sessions, lambda s: notifications.delivered(s, did, t.channel_id, done))
        return DeliveryResult(delivery_id=did, status=DeliveryStatus.DELIVERED, attempts=attempts)
