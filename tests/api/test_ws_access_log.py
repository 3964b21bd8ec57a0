"""A session token in the live stream's query string (`/ws?session_token=...`, how browsers
authenticate an upgrade) never reaches the API's logs: the real `python -m runtime.cli api`
(uvicorn, as `make run` starts it) logs each upgrade's path, accepted or refused, with the
token redacted."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support import live
from tests.support.api_process import COMMAND, ROOT, api_env, wait_listening
from tests.support.ports import free_port

JUNK = "hyo_SeCrEt-never-logged-4b1d"


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
    env = api_env(data, sqlite_url, temporal_address, port, HYPERORU_LOG_LEVEL="DEBUG")
    out, err = Path(data) / "stdout.log", Path(data) / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            COMMAND,
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_listening(proc, url)
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
