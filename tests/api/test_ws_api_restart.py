"""The API restarting drops its sockets cleanly (a close frame, not a cut connection), and a
client that reconnects to the new process with its last event id gets what was recorded while
the API was down, in order: the real `python -m runtime.cli api`, stopped with SIGTERM as a
service manager stops it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed

from db import events
from domain.events import EventData
from tests.support import live
from tests.support.api_process import COMMAND, ROOT, api_env, wait_listening
from tests.support.ports import free_port

GOING_AWAY = {1001, 1012}  # the endpoint is going away / the service restarts


@contextmanager
def _api(env: dict[str, str], port: int, logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (logs / f"api-{port}.log").open("ab") as out:
        proc = subprocess.Popen(
            COMMAND,
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_listening(proc, f"http://127.0.0.1:{port}")
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def _record(database_url: str, *data: EventData) -> None:
    engine = create_engine(database_url)
    with Session(engine) as s, s.begin():
        events.append(s, *data)
    engine.dispose()


async def _first_event(ws_url: str, token: str, database_url: str, account: int) -> int:
    async with live.open_ws(ws_url, token) as ws:
        await ws.send('{"type": "subscribe", "data": {"channels": ["trades"]}}')
        await live.settle(ws)
        _record(database_url, live.fill(account, 1))
        got = await live.recv(ws)
        assert got["type"] == "trade_update" and got["data"]["trade_id"] == "t1", got
        return int(got["event_id"])


async def _dropped_cleanly(ws: Any, proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        while True:
            await live.recv(ws, timeout=30)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the connection was cut without a close frame"
        assert closed.rcvd.code in GOING_AWAY, closed.rcvd
    # uvicorn shuts down, then re-raises the signal it caught: a clean stop ends with it.
    assert await asyncio.to_thread(proc.wait, 30) in (0, -signal.SIGTERM)


def test_a_restart_closes_sockets_cleanly_and_clients_resume_by_event_id(
    temporal_address: str, sqlite_url: str
) -> None:
    port = free_port()
    data = tempfile.mkdtemp(prefix="hyperoru-wsrestart-")
    env = api_env(data, sqlite_url, temporal_address, port)
    url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    with _api(env, port, Path(data)) as first:
        creds = {"email": "restart@example.com", "password": "restart-password-1"}
        assert httpx.post(f"{url}/api/users/register", json=creds).status_code == 201
        token = httpx.post(f"{url}/api/users/login", json=creds).json()["session_token"]
        body = {"name": "t", "account_type": "program", "exchange": "paper",
                "initial_capital": "1000", "max_leverage": "5",
                "max_position_notional_usd": "1000", "max_concurrent_positions": 3,
                "symbols": ["BTC"]}  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{url}/api/account/", json=body, headers=auth, timeout=30)
        assert created.status_code == 201, created.text
        account = created.json()["account_id"]
        last = asyncio.run(_first_event(ws_url, token, sqlite_url, account))

        async def connected_then_stopped() -> None:
            async with live.open_ws(ws_url, token) as ws:
                assert (await live.ask(ws, "ping"))["type"] == "pong"
                await _dropped_cleanly(ws, first)

        asyncio.run(connected_then_stopped())
    # While the API is down, the worker goes on recording.
    _record(sqlite_url, live.fill(account, 2), live.chat(account, 2), live.fill(account, 3))
    with _api(env, port, Path(data)):

        async def resumed() -> list[dict[str, Any]]:
            async with live.open_ws(ws_url, token) as ws:
                resume = {"channels": ["trades"], "last_event_id": last}
                await ws.send(f'{{"type": "subscribe", "data": {_json(resume)}}}')
                return await live.settle(ws)

        missed = asyncio.run(resumed())
    assert [(m["type"], m["data"]["trade_id"]) for m in missed] == [
        ("trade_update", "t2"),
        ("trade_update", "t3"),
    ], missed
    assert all(m["event_id"] > last for m in missed)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
