"""`/api/notifications/channels`: a user's webhook and Telegram channels, their delivery
history, a test message, and the webhook secret's rotation (README "Notifications").

Secrets are write-only: a webhook's signing secret is made here and shown once (at creation and
on rotation), a bot token is taken once; both are stored sealed and only the activity that sends
a delivery opens them (activities/notifications.py).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select

from adapters.notify import url_problem
from api.auth import CurrentUser
from api.deps import SessionDep, TemporalDep
from api.errors import ApiError
from api.notification_schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelOut,
    ChannelUpdate,
    DeliveryOut,
    SecretRotated,
    TestResult,
)
from db.base import utcnow
from db.models import NotificationChannel, NotificationDelivery
from domain.notifications import (
    SECRET_FIELD,
    BatchResult,
    ChannelKind,
    ChannelStatus,
    DeliverBatchInput,
    DeliveryPolicy,
    DeliveryStatus,
    NotifyKind,
    delivery_id,
)
from vault import hint, seal

router = APIRouter(prefix="/api/notifications", tags=["notifications"])

MAX_ID = 2**63 - 1
HISTORY_LIMIT = 200


def _out(ch: NotificationChannel) -> ChannelOut:
    return ChannelOut(
        id=ch.id,
        name=ch.name,
        kind=ChannelKind(ch.kind),
        events=list(ch.events),
        enabled=ch.enabled,
        status=ChannelStatus(ch.status),
        status_reason=ch.status_reason,
        url=ch.url,
        chat_id=ch.telegram_chat_id,
        base_url=ch.telegram_base_url,
        secret_hint=ch.secret_hint,
        created_at=ch.created_at,
        updated_at=ch.updated_at,
    )


async def _owned(s: SessionDep, channel_id: int, user_id: int) -> NotificationChannel:
    """The user's channel; another user's is answered exactly like a missing one."""
    ch = await s.get(NotificationChannel, channel_id) if 0 < channel_id <= MAX_ID else None
    if ch is None or ch.user_id != user_id:
        raise ApiError(404, "CHANNEL_NOT_FOUND", f"Notification channel {channel_id} not found")
    return ch


def _seal_secret(request: Request, ch: NotificationChannel, secret: str) -> None:
    ch.secret_sealed = seal(request.app.state.vault, secret, ch.id, SECRET_FIELD).to_json()
    ch.secret_hint = hint(secret)


def _new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _missing(field: str, why: str) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", f"{field}: {why}")


async def _check_hosts(request: Request, **urls: str | None) -> None:
    """The egress rules (adapters/notify.py): a refused host is a 422 naming its field."""
    allow = request.app.state.settings.notify_allow_private_hosts
    for field, url in urls.items():
        problem = await url_problem(url, allow) if url else None
        if problem:
            raise ApiError(422, "NOTIFY_HOST_NOT_ALLOWED", f"{field}: {problem}")


@router.post("/channels", response_model=ChannelCreated, status_code=201)
async def create_channel(
    body: ChannelCreate, s: SessionDep, request: Request, user: CurrentUser
) -> ChannelCreated:
    if body.kind == ChannelKind.WEBHOOK:
        if not body.url:
            raise _missing("url", "a webhook needs a url")
        if body.bot_token or body.chat_id or body.base_url:
            raise _missing("kind", "bot_token, chat_id and base_url are for telegram channels")
        secret = _new_webhook_secret()
    else:
        if not body.bot_token:
            raise _missing("bot_token", "a telegram channel needs its bot token")
        if not body.chat_id:
            raise _missing("chat_id", "a telegram channel needs a chat id")
        if body.url:
            raise _missing("url", "is for webhook channels (telegram takes base_url)")
        secret = body.bot_token
    await _check_hosts(request, url=body.url, base_url=body.base_url)
    ch = NotificationChannel(
        user_id=user.id,
        name=body.name,
        kind=body.kind.value,
        url=body.url,
        telegram_base_url=body.base_url,
        telegram_chat_id=body.chat_id,
        secret_sealed=None,
        secret_hint="",
        events=list(body.events),
        enabled=body.enabled,
        status=ChannelStatus.OK.value,
    )
    s.add(ch)
    await s.flush()  # the id binds the sealed secret
    _seal_secret(request, ch, secret)
    await s.commit()
    shown = secret if body.kind == ChannelKind.WEBHOOK else None
    return ChannelCreated(**_out(ch).model_dump(), secret=shown)


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(s: SessionDep, user: CurrentUser) -> list[ChannelOut]:
    rows = await s.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.user_id == user.id)
        .order_by(NotificationChannel.id)
    )
    return [_out(ch) for ch in rows]


@router.get("/channels/{channel_id}", response_model=ChannelOut)
async def get_channel(channel_id: int, s: SessionDep, user: CurrentUser) -> ChannelOut:
    return _out(await _owned(s, channel_id, user.id))


@router.patch("/channels/{channel_id}", response_model=ChannelOut)
async def update_channel(
    channel_id: int, body: ChannelUpdate, s: SessionDep, request: Request, user: CurrentUser
) -> ChannelOut:
    ch = await _owned(s, channel_id, user.id)
    given = body.model_fields_set
    webhook = ch.kind == ChannelKind.WEBHOOK
    if webhook and given & {"bot_token", "chat_id", "base_url"}:
        raise _missing("kind", "bot_token, chat_id and base_url are for telegram channels")
    if not webhook and "url" in given:
        raise _missing("url", "is for webhook channels (telegram takes base_url)")
    for field in ("name", "events", "enabled", "url", "chat_id", "bot_token"):
        if field in given and getattr(body, field) is None:
            raise _missing(field, "may not be null")
    await _check_hosts(request, url=body.url, base_url=body.base_url)
    if body.name is not None:
        ch.name = body.name
    if body.events is not None:
        ch.events = list(body.events)
    if body.enabled is not None:
        ch.enabled = body.enabled
    if body.url is not None:
        ch.url = body.url
    if body.chat_id is not None:
        ch.telegram_chat_id = body.chat_id
    if "base_url" in given:
        ch.telegram_base_url = body.base_url  # null: back to api.telegram.org
    if body.bot_token is not None:
        _seal_secret(request, ch, body.bot_token)
    if given - {"name", "events", "enabled"}:
        ch.status, ch.status_reason = ChannelStatus.OK.value, None  # a new target: try again
    ch.updated_at = utcnow()
    await s.commit()
    return _out(ch)


@router.delete("/channels/{channel_id}", status_code=204)
async def delete_channel(channel_id: int, s: SessionDep, user: CurrentUser) -> Response:
    ch = await _owned(s, channel_id, user.id)
    await s.execute(delete(NotificationDelivery).where(NotificationDelivery.channel_id == ch.id))
    await s.delete(ch)
    await s.commit()
    return Response(status_code=204)


@router.post("/channels/{channel_id}/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    channel_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> SecretRotated:
    """A new webhook signing secret, shown once (a Telegram bot token is replaced by PATCH)."""
    ch = await _owned(s, channel_id, user.id)
    if ch.kind != ChannelKind.WEBHOOK:
        raise ApiError(409, "NOT_A_WEBHOOK", "Only a webhook channel has a signing secret")
    secret = _new_webhook_secret()
    _seal_secret(request, ch, secret)
    ch.updated_at = utcnow()
    await s.commit()
    return SecretRotated(id=ch.id, secret=secret, secret_hint=ch.secret_hint)


@router.get("/channels/{channel_id}/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(channel_id: int, s: SessionDep, user: CurrentUser) -> list[DeliveryOut]:
    """The channel's latest deliveries, newest first."""
    ch = await _owned(s, channel_id, user.id)
    rows = await s.scalars(
        select(NotificationDelivery)
        .where(NotificationDelivery.channel_id == ch.id)
        .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id)
        .limit(HISTORY_LIMIT)
    )
    return [
        DeliveryOut(
            id=d.id,
            kind=d.kind,
            event_id=d.event_id,
            account_id=d.account_id,
            status=DeliveryStatus(d.status),
            attempts=d.attempts,
            last_error=d.last_error,
            created_at=d.created_at,
            last_attempt_at=d.last_attempt_at,
            delivered_at=d.delivered_at,
        )
        for d in rows
    ]


@router.post("/channels/{channel_id}/test", response_model=TestResult)
async def test_channel(
    channel_id: int, s: SessionDep, request: Request, user: CurrentUser, temporal: TemporalDep
) -> TestResult:
    """Send a sample message now, through the notifier, and answer with how it went (one
    attempt: a test reports a failure at once instead of retrying it)."""
    ch = await _owned(s, channel_id, user.id)
    key = f"test:{uuid.uuid4().hex}"
    did = delivery_id(ch.id, key)
    now = utcnow()
    s.add(
        NotificationDelivery(
            id=did,
            channel_id=ch.id,
            key=key,
            kind=NotifyKind.TEST.value,
            payload={
                "kind": NotifyKind.TEST.value,
                "text": f"hyperoru: test message for notification channel {ch.name!r}",
                "time": now.isoformat(),
            },
            status=DeliveryStatus.PENDING.value,
            attempts=0,
        )
    )
    await s.commit()
    settings = request.app.state.settings
    policy = DeliveryPolicy(http_timeout_s=settings.notify_http_timeout_seconds, max_attempts=1)
    try:
        batch = await temporal.execute_workflow(
            "DeliverNowWorkflow",
            DeliverBatchInput(delivery_ids=[did], policy=policy),
            id=f"notify-test-{did}",
            task_queue=settings.notify_task_queue,
            result_type=BatchResult,
            execution_timeout=timedelta(seconds=policy.http_timeout_s + 60),
        )
    except Exception as err:  # noqa: BLE001 - no worker, Temporal away: say so, keep the row
        raise ApiError(
            503, "NOTIFIER_UNAVAILABLE", f"The notifier did not answer ({type(err).__name__})"
        ) from None
    result = batch.results[0]
    await s.refresh(ch)
    return TestResult(
        delivery_id=did,
        status=result.status,
        attempts=result.attempts,
        error=result.error,
        channel_status=ChannelStatus(ch.status),
    )
