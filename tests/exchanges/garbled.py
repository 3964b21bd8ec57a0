"""An ASGI wrapper around a venue emulator that answers chosen operations with a reply of our own
(a malformed one), after the emulator has processed the request: the venue acted, but what it
said cannot be read. Everything else passes through untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# (method, path, body) -> the operation's name
Namer = Callable[[str, str, bytes], str]


def hyperliquid_op(method: str, path: str, body: bytes) -> str:
    """``info:<type>`` or ``exchange:<action type>``, as the emulator names requests."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return ""
    if path == "/info":
        return f"info:{payload.get('type')}"
    return f"exchange:{(payload.get('action') or {}).get('type')}"


def binance_op(method: str, path: str, body: bytes) -> str:
    return f"{method} {path}"


@dataclass
class Garbled:
    app: ASGIApp
    name: Namer
    replies: dict[str, list[Any]] = field(default_factory=dict)  # op -> replies, next first
    garbled: list[str] = field(default_factory=list)

    def answer(self, op: str, reply: Any, times: int = 1) -> None:
        self.replies.setdefault(op, []).extend([reply] * times)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        op = self.name(scope["method"], scope["path"], body)
        queued = self.replies.get(op)
        if not queued:
            await self.app(scope, replay, send)
            return

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, replay, discard)  # the venue acts on the request...
        self.garbled.append(op)
        payload = json.dumps(queued.pop(0)).encode()  # ...and its answer is unreadable
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
