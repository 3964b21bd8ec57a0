"""A local server speaking the Telegram Bot API's `sendMessage` (POST /bot<token>/sendMessage),
with Telegram's answers: 401 {"ok": false, "description": "Unauthorized"} for a token it does
not know, 400 "Bad Request: chat not found" for an unknown chat, else {"ok": true, ...}.

    tg = TelegramEmulator(token="123:ABC", chats={"42"}); tg.start()
    ... base_url=tg.base_url ...; tg.messages -> [{"chat_id": "42", "text": ...}]
    tg.stop()
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.asgi_server import ThreadedServer


class TelegramEmulator(ThreadedServer):
    def __init__(self, token: str, chats: set[str]) -> None:
        self.token, self.chats = token, chats
        self._lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.refused: list[str] = []  # the description of every refusal
        app = FastAPI()

        @app.post("/bot{token}/sendMessage")
        async def send_message(token: str, request: Request) -> JSONResponse:
            body = await request.json()
            if token != self.token:
                return self._refuse(401, "Unauthorized")
            chat = str(body.get("chat_id", ""))
            if chat not in self.chats:
                return self._refuse(400, "Bad Request: chat not found")
            with self._lock:
                self.messages.append({"chat_id": chat, "text": body.get("text")})
                n = len(self.messages)
            return JSONResponse(
                {
                    "ok": True,
                    "result": {"message_id": n, "chat": {"id": chat}, "text": body.get("text")},
                }
            )

        super().__init__(app, "telegram-emu")

    def _refuse(self, status: int, description: str) -> JSONResponse:
        with self._lock:
            self.refused.append(description)
        return JSONResponse(
            {"ok": False, "error_code": status, "description": description}, status_code=status
        )
