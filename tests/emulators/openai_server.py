"""A real HTTP OpenAI-compatible server for tests: FastAPI + uvicorn on 127.0.0.1, own thread.

    emu = OpenAIEmulator().start()
    emu.script(rate_limited(retry_after=2), valid_json())   # a queue: one behaviour per request
    ... AsyncOpenAI(base_url=emu.base_url, ...) ...
    emu.requests[0].headers["authorization"], emu.requests[0].body["response_format"]
    emu.stop()

`POST /v1/chat/completions` pops the next behaviour; when the queue is empty it answers
`emu.default` (a 500 "no scripted behaviour left" unless set). Every request is recorded with
its headers (lower-case names, Authorization included) and JSON body. Replies carry `usage`:
the reply's own counts, or with `emu.count_tokens = True` the prompt's tokens counted from the
request's messages the way BPE tokenizers split text (see `count_tokens`).
The socket is bound before the server starts (no free-port race).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

DEFAULT_DECISION: dict[str, Any] = {
    "operation": "long",
    "symbol": "BTC",
    "size_usd": 500,
    "leverage": 3,
    "take_profit_pct": 4,
    "stop_loss_pct": 2,
    "reasoning": "Breakout above resistance with rising volume.",
}


# ---------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Reply:
    """200 with one choice whose message content is `content`."""

    content: str | None
    finish_reason: str = "stop"
    prompt_tokens: int = 321
    completion_tokens: int = 54
    model: str | None = None  # None: echo the requested model


@dataclass(frozen=True)
class Fail:
    """An error status with an OpenAI-style {"error": {...}} body.

    echo_key: put the caller's full bearer token into the error message (worst case provider)."""

    status: int
    message: str
    code: str | None = None
    type: str = "api_error"
    headers: dict[str, str] = field(default_factory=dict)
    echo_key: bool = False


@dataclass(frozen=True)
class Hang:
    """Send nothing for `seconds` (ends early when the emulator stops), then `then`."""

    seconds: float
    then: Reply | None = None


@dataclass(frozen=True)
class Raw:
    """Any status and raw body, e.g. a 200 that is not a completion (or a gzip bomb)."""

    status: int
    body: str | bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Redirect:
    """A redirect to `location` (e.g. a metadata address a hostile provider points at)."""

    location: str
    status: int = 307


Behaviour = Reply | Fail | Hang | Raw | Redirect


def valid_json(**overrides: Any) -> Reply:
    return Reply(json.dumps({**DEFAULT_DECISION, **overrides}))


def fenced(**overrides: Any) -> Reply:
    body = json.dumps({**DEFAULT_DECISION, **overrides}, indent=2)
    return Reply(f"Here is my decision:\n```json\n{body}\n```\n")


def in_prose(**overrides: Any) -> Reply:
    body = json.dumps({**DEFAULT_DECISION, **overrides})
    return Reply(
        "Looking at the 1h chart, momentum is building {strongly}. My decision: "
        f"{body} -- let me know if you need more detail."
    )


def truncated() -> Reply:
    return Reply(json.dumps(DEFAULT_DECISION)[:60], finish_reason="length")


def wrong_types() -> Reply:
    return Reply(json.dumps({**DEFAULT_DECISION, "size_usd": {"amount": 500}, "leverage": [3]}))


def unknown_symbol() -> Reply:
    return valid_json(symbol="DOGE")


def empty() -> Reply:
    return Reply("")


def rate_limited(retry_after: float | None = 2) -> Fail:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    return Fail(429, "Rate limit reached for requests", "rate_limit_exceeded", "requests", headers)


def quota_exhausted() -> Fail:
    return Fail(429, "You exceeded your current quota.", "insufficient_quota", "insufficient_quota")


def server_error(status: int = 500, echo_key: bool = False) -> Fail:
    return Fail(status, "The server had an error while processing your request.", echo_key=echo_key)


def hang(seconds: float = 30.0) -> Hang:
    return Hang(seconds, valid_json())


def unauthorized(echo_key: bool = True) -> Fail:
    return Fail(
        401,
        "Incorrect API key provided.",
        "invalid_api_key",
        "invalid_request_error",
        echo_key=echo_key,
    )


def forbidden() -> Fail:
    return Fail(403, "Project does not have access to this model.", "model_not_allowed")


def not_found() -> Fail:
    return Fail(404, "The model does not exist or you do not have access to it.", "model_not_found")


def bad_request() -> Fail:
    return Fail(
        400, "Invalid value for 'response_format'.", "invalid_value", "invalid_request_error"
    )


# ---------------------------------------------------------------- usage

# cl100k-style pre-tokenization: a word with its leading space, up to 3 digits, a run of
# punctuation, or whitespace. Real BPE merges most English words into one token and splits
# numbers into groups of 3 digits, so counting these pieces is close to a provider's count.
_PIECES = re.compile(r"""'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+""")


def count_tokens(body: Any) -> int:
    """Prompt tokens of a chat request: its messages' text split as above, plus 4 per message
    (the role and separators), as OpenAI documents for its chat format."""
    messages = body.get("messages") if isinstance(body, dict) else None
    total = 0
    for m in messages or []:
        text = m.get("content") if isinstance(m, dict) else None
        total += 4 + (len(_PIECES.findall(text)) if isinstance(text, str) else 0)
    return total


# ---------------------------------------------------------------- server


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    raw: str
    at: float


class OpenAIEmulator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Behaviour] = []
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self.default: Behaviour = Fail(500, "emulator: no scripted behaviour left")
        # True: a Reply's prompt_tokens are counted from the request (count_tokens).
        self.count_tokens = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = 0
        self.app = self._build_app()

    # -- scripting and inspection

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default

    # -- the app

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            raw = (await request.body()).decode("utf-8", "replace")
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in request.headers.items()}
            with self._lock:
                self._requests.append(
                    RecordedRequest(
                        request.method, request.url.path, headers, body, raw, time.time()
                    )
                )
            behaviour = self._next()
            if isinstance(behaviour, Hang):
                deadline = time.monotonic() + behaviour.seconds
                while time.monotonic() < deadline and not self._stopping.is_set():
                    await asyncio.sleep(0.05)
                behaviour = behaviour.then or Fail(504, "emulator: hang ended")
            model = body.get("model") if isinstance(body, dict) else None
            if self.count_tokens and isinstance(behaviour, Reply):
                behaviour = dataclasses.replace(behaviour, prompt_tokens=count_tokens(body))
            return self._answer(behaviour, model, headers)

        return app

    def _answer(self, b: Behaviour, model: Any, headers: dict[str, str]) -> Response:
        if isinstance(b, Reply):
            return JSONResponse(
                {
                    "id": f"chatcmpl-emu-{len(self._requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": b.model or model or "unknown",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": b.content},
                            "finish_reason": b.finish_reason,
                            "logprobs": None,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": b.prompt_tokens,
                        "completion_tokens": b.completion_tokens,
                        "total_tokens": b.prompt_tokens + b.completion_tokens,
                    },
                }
            )
        if isinstance(b, Fail):
            message = b.message
            if b.echo_key:
                token = headers.get("authorization", "").removeprefix("Bearer ")
                message += f" Key: {token} (masked {token[:6]}****{token[-4:]})"
            return JSONResponse(
                {"error": {"message": message, "type": b.type, "param": None, "code": b.code}},
                status_code=b.status,
                headers=b.headers,
            )
        if isinstance(b, Raw):
            return Response(
                b.body, status_code=b.status, media_type=b.content_type, headers=b.headers
            )
        if isinstance(b, Redirect):
            return Response(status_code=b.status, headers={"location": b.location})
        raise TypeError(f"unexpected behaviour {b!r}")

    # -- lifecycle

    def start(self, timeout_s: float = 10.0) -> OpenAIEmulator:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="openai-emu"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("OpenAI emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> OpenAIEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
