"""A session token in the live stream's query string (`/ws?session_token=...`, how browsers
authenticate an upgrade) never reaches the API's logs: the real `python -m runtime.cli api`
(uvicorn, as `make run` starts it) logs each upgrade's path, accepted or refused, with the
token redacted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support import live
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
JUNK = "hyo_SeCrEt-never-logged-4b1d"


def _wait_listening(proc: subprocess.Popen[bytes], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the API exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the API did not start")


async def _use(ws_url: str, token: str) -> None:
    async with live.open_ws(f"{ws_url}?session_token={quote(token)}&x=1") as ws:
        assert (await live.ask(ws, "ping"))["type"] == "pong"
    for query in (f"session_token={JUNK}", f"access_token={JUNK}x"):  # refused: 4401
        async with live.open_ws(f"{ws_url}?{query}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await live.recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_the_stream_s_query_token_is_redacted_in_every_log_line(
    temporal_address: str, sqlite_url: str
) -> None:
    port = free_port()
    data = tempfile.mkdtemp(prefix="hyperoru-wslog-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")},
        "HYPERORU_DATA_DIR": data,
        "HYPERORU_DATABASE_URL": sqlite_url,
        "HYPERORU_TEMPORAL_ADDRESS": temporal_address,
        "HYPERORU_API_PORT": str(port),
        "HYPERORU_LOG_LEVEL": "DEBUG",
    }
    out, err = Path(data) / "stdout.log", Path(data) / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "api"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_listening(proc, url)
            creds = {"email": "log@example.com", "password": "log-password-1"}
            assert httpx.post(f"{url}/api/users/register", json=creds).status_code == 201
            token = httpx.post(f"{url}/api/users/login", json=creds).json()["session_token"]
            asyncio.run(_use(f"ws://127.0.0.1:{port}/ws", token))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    logs = out.read_text() + err.read_text()
    assert '"WebSocket /ws?session_token=[redacted]&x=1" [accepted]' in logs, logs
    assert logs.count("/ws?session_token=[redacted]") >= 2, logs
    assert "/ws?access_token=[redacted]" in logs, logs
    for secret in (token, JUNK, quote(token)):
        assert secret not in logs, logs
