"""Abuse limits in front of every route: body size (413) and read time (408), and a token bucket
per caller (429).

Who is a caller: a session token the API has verified recently keeps a bucket of its own;
everything else (no token, a junk or revoked token) shares its client address's bucket. The
limiter runs before any route, so it cannot check a token itself without a database query per
request: `VerifiedTokens` remembers the tokens the API issued (login) or verified (every
authenticated request), by hash. Keying on any token sent, as before, let a client get a fresh
bucket per request by sending a new junk token each time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import uuid
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXEMPT = ("/api/health",)
MAX_TRACKED_CALLERS = 50_000


async def _reject(
    send: Send, status: int, code: str, message: str, headers: dict[str, str]
) -> None:
    """The error envelope, sent as raw ASGI messages: the request body is never read."""
    rid = f"req_{uuid.uuid4().hex[:20]}"
    body = json.dumps({"error": message, "code": code, "request_id": rid}).encode()
    all_headers = {
        **headers,
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-request-id": rid,
    }
    raw = [(k.lower().encode(), v.encode()) for k, v in all_headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over the limit, 408 for one that does not arrive in time, before any
    route reads it.

    A declared Content-Length is judged at once; the body (declared or streamed) is then read
    here, up to the limit (so at most that much is buffered) and within the read timeout, and
    handed on whole. Why a timeout: a Content-Length overstating the body, or a chunked body
    that stalls, would otherwise hold a connection (and a task) open indefinitely.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        read_timeout_s: float = 30.0,
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app, self.max_bytes, self.read_timeout_s = app, max_bytes, read_timeout_s
        # Routes that take larger bodies by design (a candle file), each with its own limit.
        self.path_limits = path_limits or {}

    async def _too_large(self, send: Send, limit: int) -> None:
        message = f"Request body is larger than {limit} bytes"
        await _reject(send, 413, "PAYLOAD_TOO_LARGE", message, {"Connection": "close"})

    async def _read(self, receive: Receive, limit: int) -> bytes | int | None:
        """The whole body; or its size so far once past the limit; None if the client left."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return size
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _reject(send, 400, "BAD_REQUEST", "Invalid Content-Length header", {})
            return
        if declared is not None and int(declared) > limit:
            await self._too_large(send, limit)
            return
        try:
            async with asyncio.timeout(self.read_timeout_s):
                body = await self._read(receive, limit)
        except TimeoutError:
            message = f"Request body not received in full within {self.read_timeout_s:g} s"
            await _reject(send, 408, "REQUEST_TIMEOUT", message, {"Connection": "close"})
            return
        if body is None:
            return  # the client went away
        if isinstance(body, int):
            await self._too_large(send, limit)
            return
        whole: Message | None = {"type": "http.request", "body": body}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                message, whole = whole, None
                return message
            return await receive()

        await self.app(scope, replay, send)


class TokenBuckets:
    """`rate` requests a second on average, bursts up to `burst`; oldest callers forgotten."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0 when the request may go ahead, else seconds until it could."""
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_TRACKED_CALLERS:
            self._buckets.popitem(last=False)
        return wait


# Password guessing is limited per client IP, whatever token the request carries (the web
# app's login form, /login, included: its pages are otherwise not limited).
PER_IP = ("/api/users/login", "/api/users/register", "/login")
VERIFIED_TTL_S = 300.0


def token_key(token: bytes) -> str:
    """What identifies a token in memory: a hash prefix, never the token."""
    return hashlib.sha256(token.strip()).hexdigest()[:32]


class VerifiedTokens:
    """Keys of tokens the API issued or accepted within the last `ttl_s` seconds (each accepted
    request renews its token). A token revoked meanwhile keeps its own bucket at most that
    long, and its requests get 401 all the same; logout forgets it at once."""

    def __init__(self, ttl_s: float = VERIFIED_TTL_S, max_entries: int = MAX_TRACKED_CALLERS):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, token: str, now: float | None = None) -> None:
        key = token_key(token.encode("latin-1", "replace"))
        self._seen.pop(key, None)
        self._seen[key] = time.monotonic() if now is None else now
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def discard(self, token: str) -> None:
        self._seen.pop(token_key(token.encode("latin-1", "replace")), None)

    def recent(self, key: str, now: float) -> bool:
        seen = self._seen.get(key)
        return seen is not None and now - seen <= self.ttl_s


def caller_key(scope: Scope, verified: VerifiedTokens, now: float) -> str:
    """Per session token when a recently verified one is sent, else per client address."""
    auth = dict(scope["headers"]).get(b"authorization", b"")
    if auth[:7].lower() == b"bearer " and len(auth) > 7 and scope.get("path") not in PER_IP:
        key = token_key(auth[7:])
        if verified.recent(key, now):
            return "t:" + key
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimit:
    def __init__(self, app: ASGIApp, rate: float, burst: int, verified: VerifiedTokens) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.verified = verified

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        limited = path.startswith("/api/") or path in PER_IP
        if self.buckets is None or not limited or path in EXEMPT:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        wait = self.buckets.take(caller_key(scope, self.verified, now), now)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            message = f"Too many requests; retry in {retry} s"
            await _reject(send, 429, "RATE_LIMITED", message, {"Retry-After": retry})
            return
        await self.app(scope, receive, send)
