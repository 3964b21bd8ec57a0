"""A local webhook receiver, as a user would write one: it checks the HMAC signature (README
"Notifications"), answers as scripted (e.g. two 500s, then 200), and drops repeats by the
delivery id.

    rx = WebhookReceiver(); rx.start(); rx.script(500, 500)   # then 200s
    rx.secret = channel["secret"]
    rx.accepted -> the bodies it took, once per delivery id; rx.requests -> every request
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.support.asgi_server import ThreadedServer


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does with the three headers (the README's example, in Python)."""
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(f"sha256={expected.hexdigest()}", signature)


@dataclass
class Received:
    delivery_id: str
    timestamp: str
    signature: str
    raw: bytes
    signature_ok: bool
    answered: int | str  # the status sent back, or "hang"

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)  # type: ignore[no-any-return]


class WebhookReceiver(ThreadedServer):
    def __init__(self) -> None:
        self.secret = ""
        self._lock = threading.Lock()
        self._script: list[int | float] = []  # a status, or a float: hang that many seconds
        self.requests: list[Received] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        self.repeats = 0
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            raw = await request.body()
            h = request.headers
            ts, sig = h.get("x-hyperoru-timestamp", ""), h.get("x-hyperoru-signature", "")
            ok = verify(self.secret, ts, raw, sig)
            with self._lock:
                step = self._script.pop(0) if self._script else 200
            rec = Received(h.get("x-hyperoru-delivery", ""), ts, sig, raw, ok, 200)
            if isinstance(step, float):
                rec.answered = "hang"
                with self._lock:
                    self.requests.append(rec)
                await asyncio.sleep(step)
                return Response(status_code=200)
            rec.answered = step if ok else 401
            with self._lock:
                self.requests.append(rec)
                if rec.answered == 200:
                    if rec.delivery_id in self.accepted:
                        self.repeats += 1
                    else:
                        self.accepted[rec.delivery_id] = rec.body
            return Response(status_code=int(rec.answered))

        super().__init__(app, "webhook-receiver")

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    def script(self, *steps: int | float) -> None:
        with self._lock:
            self._script.extend(steps)
