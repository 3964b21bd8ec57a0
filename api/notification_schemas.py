"""Request and response bodies of `/api/notifications` (README "Notifications")."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from api.schemas import Name, Strict, UtcDateTime, api_key_text
from domain.notifications import ChannelKind, ChannelStatus, DeliveryStatus, NotifyKind

# What a channel may ask for (`test` is not a kind one subscribes to).
Subscribable = Literal[
    "fill",
    "tp_sl_close",
    "decision_failed",
    "trader_error",
    "order_unknown",
    "circuit_breaker",
    "daily_summary",
]
ALL_KINDS: list[str] = [k.value for k in NotifyKind if k != NotifyKind.TEST]


def http_url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or a clear refusal."""
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    return value


def chat_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 64 or not (value.lstrip("-").isdigit() or value.startswith("@")):
        raise ValueError("must be a numeric chat id (e.g. -1001234567890) or @channelname")
    return value


class ChannelCreate(Strict):
    """A webhook needs `url`; Telegram needs `bot_token` and `chat_id` (`base_url` optional)."""

    name: Name
    kind: ChannelKind
    events: list[Subscribable] = Field(min_length=1, max_length=len(ALL_KINDS))
    enabled: bool = True
    url: str | None = Field(default=None, max_length=2000)
    bot_token: str | None = Field(default=None, min_length=1, max_length=200)
    chat_id: str | None = Field(default=None, max_length=64)
    base_url: str | None = Field(default=None, max_length=500)

    _url = field_validator("url", "base_url")(lambda cls, v: http_url(v))
    _token = field_validator("bot_token")(lambda cls, v: api_key_text(v))
    _chat = field_validator("chat_id")(lambda cls, v: chat_id(v))
    _events = field_validator("events")(lambda cls, v: list(dict.fromkeys(v)))


class ChannelUpdate(Strict):
    """Only the fields given change; `bot_token` replaces the stored one (write-only)."""

    name: Name | None = None
    events: list[Subscribable] | None = Field(default=None, min_length=1)
    enabled: bool | None = None
    url: str | None = Field(default=None, max_length=2000)
    bot_token: str | None = Field(default=None, min_length=1, max_length=200)
    chat_id: str | None = Field(default=None, max_length=64)
    base_url: str | None = Field(default=None, max_length=500)

    _url = field_validator("url", "base_url")(lambda cls, v: http_url(v))
    _token = field_validator("bot_token")(lambda cls, v: api_key_text(v))
    _chat = field_validator("chat_id")(lambda cls, v: chat_id(v))
    _events = field_validator("events")(
        lambda cls, v: None if v is None else list(dict.fromkeys(v))
    )


class ChannelOut(BaseModel):
    id: int
    name: str
    kind: ChannelKind
    events: list[str]
    enabled: bool
    status: ChannelStatus
    status_reason: str | None
    url: str | None = None
    chat_id: str | None = None
    base_url: str | None = None
    # The last characters of the webhook secret or bot token, for recognising it.
    secret_hint: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ChannelCreated(ChannelOut):
    """Creation's answer: a webhook's signing secret is shown here once, never again."""

    secret: str | None = None


class SecretRotated(BaseModel):
    id: int
    secret: str  # the new signing secret, shown once; the old one stops signing at once
    secret_hint: str


class DeliveryOut(BaseModel):
    id: str
    kind: str
    event_id: int | None
    account_id: int | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: UtcDateTime
    last_attempt_at: UtcDateTime | None
    delivered_at: UtcDateTime | None


class TestResult(BaseModel):
    delivery_id: str
    status: DeliveryStatus
    attempts: int
    error: str | None = None
    channel_status: ChannelStatus
