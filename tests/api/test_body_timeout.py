"""A request body that never arrives in full (Content-Length overstating it, or a chunked body
that stalls) is answered 408 after HYPERORU_BODY_READ_TIMEOUT_SECONDS and the connection
closed; it used to hold the connection open indefinitely. Over a real socket: uvicorn on a free
port in this process, serving the same app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from temporalio.client import Client

from tests.support.ports import free_port
from tests.support.stack import full_stack, make_settings

TIMEOUT = 1.0
PATIENCE = 20.0  # far above TIMEOUT: the old code never answers at all


@pytest.fixture
async def port(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[int]:
    settings = make_settings(temporal_address, sqlite_url, body_read_timeout_seconds=TIMEOUT)
    async with full_stack(None, settings, worker=False) as st:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(st.app, host="127.0.0.1", port=port, lifespan="off", log_level="error")
        )
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not serving.done(), "uvicorn stopped"
                await asyncio.sleep(0.05)
            yield port
        finally:
            server.should_exit = True
            await serving


async def _send_and_read(port: int, head: bytes, body_part: bytes) -> tuple[bytes, float]:
    """Send a request whose body stops short; everything the server says until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(head + body_part)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(), PATIENCE)  # until EOF: the close
    finally:
        writer.close()
    return answer, time.monotonic() - started


def _assert_408(answer: bytes, took: float) -> None:
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", answer[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    error = json.loads(body)
    assert error["code"] == "REQUEST_TIMEOUT" and set(error) == {"error", "code", "request_id"}
    assert TIMEOUT <= took < TIMEOUT + 5, took


async def test_overstated_content_length_gets_408_and_a_close(port: int) -> None:
    head = (
        b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 500\r\n\r\n"
    )
    _assert_408(*await _send_and_read(port, head, b'{"email": "a@b.io", '))


async def test_a_stalled_chunked_body_gets_408_and_a_close(port: int) -> None:
    head = (
        b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    _assert_408(*await _send_and_read(port, head, b'5\r\n{"ema\r\n'))


async def test_a_slow_but_complete_body_within_the_timeout_is_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b'{"email": "nobody@example.com", "password": "wrong-password"}'
    head = (
        b"POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    writer.write(head + body[:10])
    await writer.drain()
    await asyncio.sleep(TIMEOUT / 3)
    writer.write(body[10:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), PATIENCE)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]  # read, then judged
