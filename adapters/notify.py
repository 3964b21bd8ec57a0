"""Sending one notification: a signed webhook POST or a Telegram `sendMessage`.

A webhook's body is the delivery as JSON; it is signed with HMAC-SHA256 under the channel's
secret over `"<timestamp>.<body>"`, and the headers carry the signature, the timestamp and the
delivery id (README "Notifications" shows how a receiver checks them).

The outcome is one of three: sent; `DeliveryRetryable` (a 5xx, 408, 429, a timeout, a refused
or dropped connection: worth another attempt); `DeliveryRefused` (any other answer: the
receiver said no, e.g. Telegram's 401 "Unauthorized"; trying again changes nothing). Error
messages never hold the secret (a Telegram token is part of its URL, so it is masked out).

A channel's URL is the user's input that makes the worker connect (server-side request forgery):
the LLM base URL's egress rules apply (adapters/llm/egress.py): link-local and cloud metadata
addresses never, loopback and private ones only with HYPERORU_NOTIFY_ALLOW_PRIVATE_HOSTS, checked
when the channel is saved and on every connection (a refused host is not retried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

import httpx2

from adapters.llm.egress import HostNotAllowed, base_url_problem
from adapters.llm.transport import GuardedTransport
from vault import Secret

SIGNATURE_HEADER = "X-Hyperoru-Signature"
TIMESTAMP_HEADER = "X-Hyperoru-Timestamp"
DELIVERY_HEADER = "X-Hyperoru-Delivery"
USER_AGENT = "hyperoru-notifications/1"
DEFAULT_TELEGRAM_URL = "https://api.telegram.org"
RETRYABLE_STATUSES = frozenset({408, 425, 429})


_BOT_PATH = re.compile(r"/bot[^/\s]+/")


def _mask_bot_path(value: Any) -> Any:
    if isinstance(value, int | float) or value is None:
        return value
    text = str(value)
    masked = _BOT_PATH.sub("/bot**********/", text)
    return value if masked == text else masked


class BotTokenRedactor(logging.Filter):
    """httpx2 logs every request's URL at INFO, and a Bot API URL holds the bot's token
    (`/bot<token>/sendMessage`): masked here, on httpx's own logger, before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _mask_bot_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_bot_path(a) for a in record.args)
        return True


logging.getLogger("httpx2").addFilter(BotTokenRedactor())


class DeliveryRetryable(Exception):
    """Worth another attempt."""


class DeliveryRefused(Exception):
    """The receiver said no: no further attempt."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def webhook_body(delivery_id: str, channel_id: int, payload: dict[str, Any]) -> bytes:
    body = {"delivery_id": delivery_id, "channel_id": channel_id, **payload}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


async def url_problem(url: str, allow_private: bool) -> str | None:
    """Why the egress rules refuse `url`'s host (save time), or None."""
    problem = await base_url_problem(url, allow_private)
    return None if problem is None else _host_text(problem)


def _host_text(problem: str) -> str:
    return problem.replace("the LLM host", "the host", 1)


def _client(timeout_s: float, allow_private: bool) -> httpx2.AsyncClient:
    # Why no redirects: a signed body (or a bot token) goes only where the owner pointed it.
    return httpx2.AsyncClient(
        transport=GuardedTransport(allow_private),
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
    )


def _describe(err: httpx2.HTTPError) -> str:
    if isinstance(err, httpx2.TimeoutException):
        return f"timed out ({type(err).__name__})"
    return f"connection failed ({type(err).__name__})"


def _classify(where: str, resp: httpx2.Response, detail: str) -> None:
    if 200 <= resp.status_code < 300:
        return
    reason = f"{where}: HTTP {resp.status_code}" + (f" {detail}" if detail else "")
    if resp.status_code >= 500 or resp.status_code in RETRYABLE_STATUSES:
        raise DeliveryRetryable(reason)
    raise DeliveryRefused(reason)


async def send_webhook(
    url: str,
    secret: Secret,
    delivery_id: str,
    body: bytes,
    timeout_s: float,
    allow_private: bool = False,
) -> None:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret.reveal(), ts, body),
        TIMESTAMP_HEADER: ts,
        DELIVERY_HEADER: delivery_id,
    }
    async with _client(timeout_s, allow_private) as http:
        try:
            resp = await http.post(url, content=body, headers=headers)
        except HostNotAllowed as err:
            raise DeliveryRefused(f"webhook: {_host_text(str(err))}; nothing was sent") from None
        except httpx2.HTTPError as err:
            raise DeliveryRetryable(f"webhook: {_describe(err)}") from None
    _classify("webhook", resp, resp.reason_phrase)


async def send_telegram(
    base_url: str | None,
    token: Secret,
    chat_id: str,
    text: str,
    timeout_s: float,
    allow_private: bool = False,
) -> None:
    url = f"{(base_url or DEFAULT_TELEGRAM_URL).rstrip('/')}/bot{token.reveal()}/sendMessage"
    async with _client(timeout_s, allow_private) as http:
        try:
            resp = await http.post(
                url,
                json={"chat_id": chat_id, "text": text, "disable_web_page_preview": True},
                headers={"User-Agent": USER_AGENT},
            )
        except HostNotAllowed as err:
            raise DeliveryRefused(f"telegram: {_host_text(str(err))}; nothing was sent") from None
        except httpx2.HTTPError as err:
            raise DeliveryRetryable(f"telegram: {_describe(err)}") from None
    detail = ""
    try:
        answer = resp.json()
        if isinstance(answer, dict):
            detail = str(answer.get("description") or "")[:200]
    except ValueError:
        pass
    detail = detail.replace(token.reveal(), "***")
    _classify("telegram", resp, detail or resp.reason_phrase)
