"""Abuse limits in front of every route: body size (413) and a token bucket per caller (429)."""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections import OrderedDict

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXEMPT = ("/api/health",)
MAX_TRACKED_CALLERS = 50_000


def _reject(status: int, code: str, message: str, headers: dict[str, str]) -> JSONResponse:
    rid = f"req_{uuid.uuid4().hex[:20]}"
    return JSONResponse(
        status_code=status,
        content={"error": message, "code": code, "request_id": rid},
        headers={**headers, "X-Request-ID": rid},
    )


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body is larger than {limit} bytes")


class BodyLimit:
    """Refuses a declared Content-Length over the limit at once; counts streamed bodies too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                bad = _reject(400, "BAD_REQUEST", "Invalid Content-Length header", {})
                await bad(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                too_large = _reject(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    f"Request body is larger than {self.max_bytes} bytes",
                    {"Connection": "close"},
                )
                await too_large(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)  # the error envelope answers 413
            return message

        await self.app(scope, counted, send)


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


def caller_key(scope: Scope) -> str:
    """Per session token when one is sent (hashed: no token is kept in memory), else per IP."""
    auth = dict(scope["headers"]).get(b"authorization", b"")
    if auth[:7].lower() == b"bearer " and len(auth) > 7:
        return "t:" + hashlib.sha256(auth[7:].strip()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class RateLimit:
    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.buckets is None or not path.startswith("/api/") or path in EXEMPT:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(caller_key(scope), time.monotonic())
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            message = f"Too many requests; retry in {retry} s"
            limited = _reject(429, "RATE_LIMITED", message, {"Retry-After": retry})
            await limited(scope, receive, send)
            return
        await self.app(scope, receive, send)
