"""Shared pieces of the exchange emulators: a uvicorn server thread and fault injection.

Fault kinds (all switchable per operation, each for the next ``times`` matching requests):

* ``error_5xx_after``  - process the request, then answer HTTP 5xx (the venue did act)
* ``error_5xx_before`` - answer HTTP 5xx without processing (the venue did not act)
* ``drop_after``       - process, then send half a response and drop the connection
* ``delay_after``      - process, then sleep ``delay_s`` before answering (past client timeouts)
* ``rate_limit``       - answer 429 with ``Retry-After: retry_after_s`` without processing
* ``not_found``        - lookups only: answer "no such order" even when it exists
* ``duplicate_fills``  - fill listings only: every fill is listed twice
* ``report_status``    - lookups only: an order that exists is reported in the venue status
                         ``report`` (e.g. a filled order as ``REJECTED``): a venue that reports
                         an impossible sequence
* ``down``             - every matching request answers HTTP ``status`` (503) for ``delay_s``
                         seconds from injection, without processing: the venue is down a while
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import uvicorn
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

FaultKind = Literal[
    "error_5xx_after",
    "error_5xx_before",
    "drop_after",
    "delay_after",
    "rate_limit",
    "not_found",
    "duplicate_fills",
    "report_status",
    "down",
]

BEFORE_KINDS: frozenset[str] = frozenset({"error_5xx_before", "rate_limit", "down"})
AFTER_KINDS: frozenset[str] = frozenset({"error_5xx_after", "drop_after", "delay_after"})


@dataclass
class Fault:
    kind: FaultKind
    op: str  # operation name, or "*" for any
    times: int = 1
    delay_s: float = 0.0
    retry_after_s: int = 1
    status: int = 502
    after: int = 0  # let this many matching requests through first
    hits: int = 0
    until: float = 0.0  # ``down``: monotonic end of the outage
    report: str = ""  # ``report_status``: the venue status lookups report


@dataclass
class Faults:
    """Thread-safe fault schedule, consulted by the emulator for every request."""

    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    fired: list[tuple[str, str]] = field(default_factory=list)

    def inject(
        self,
        kind: FaultKind,
        op: str = "*",
        *,
        times: int = 1,
        delay_s: float = 0.0,
        retry_after_s: int = 1,
        status: int = 502,
        after: int = 0,
        report: str = "",
    ) -> Fault:
        fault = Fault(kind, op, times, delay_s, retry_after_s, status, after, report=report)
        if kind == "down":
            fault.times, fault.until = 1 << 30, time.monotonic() + delay_s
            fault.status = status if status != 502 else 503
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, op: str, kinds: frozenset[str] | set[str]) -> Fault | None:
        """The first armed fault of one of ``kinds`` for ``op``; consumes one use."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.op in (op, "*") and fault.times > 0:
                    if fault.kind == "down" and time.monotonic() > fault.until:
                        continue
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    fault.hits += 1
                    self.fired.append((fault.kind, op))
                    return fault
        return None


def funding_rate_at(t_ms: int) -> Decimal:
    """The emulators' settled funding rate at t, for fundingHistory / fundingRate
    (deterministic, a function of the hour, both signs)."""
    return Decimal((t_ms // 3_600_000) % 11 - 5) / 100_000


class DropConnection(Response):
    """Start a response, send part of the body, then abort: the client sees a reset."""

    def __init__(self) -> None:
        super().__init__(content=b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status": "o', "more_body": True})
        raise ConnectionAbortedError("emulator fault: connection dropped after accepting")


class ServerThread:
    """Run an ASGI app with uvicorn on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("emulator server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serving(app: Any) -> Iterator[ServerThread]:
    server = ServerThread(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()
