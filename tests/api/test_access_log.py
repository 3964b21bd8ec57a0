"""Credentials sent in a query string never reach the API's logs: the real access log of
`python -m cli api` (uvicorn, as `make run` and the container start it) on a free port.

The API refuses a token in the query string, but uvicorn logs the request line before any route
runs: before, `?session_token=...` was written to the access log in clear.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from pathlib import Path

import httpx

from tests.support.api_process import COMMAND, ROOT, api_env, wait_listening
from tests.support.ports import free_port

SECRETS = [f"SeCrEt{i}-7f3a9c" for i in range(8)]


def test_query_string_credentials_are_redacted_in_every_log_line(
    temporal_address: str, sqlite_url: str
) -> None:
    port = free_port()
    data = tempfile.mkdtemp(prefix="hyperoru-accesslog-")
    env = api_env(data, sqlite_url, temporal_address, port, HYPERORU_LOG_LEVEL="INFO")
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
            queries = [
                f"/api/account/list?session_token={SECRETS[0]}&page=2",
                f"/api/health?access_token={SECRETS[1]}",
                f"/api/health?x=1&api_key={SECRETS[2]}&token={SECRETS[3]}",
                f"/api/health?%74oken={SECRETS[4]}",  # "token", percent-encoded
                f"/api/account/list?Session_Token={SECRETS[5]}",
                f"/api/nope?password={SECRETS[6]}&apikey={SECRETS[7]}",
            ]
            for query in queries:
                httpx.get(url + query, timeout=10)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    logs = out.read_text() + err.read_text()
    assert "GET /api/account/list?session_token=[redacted]&page=2" in logs, logs
    assert "/api/health?x=1&api_key=[redacted]&token=[redacted]" in logs, logs
    assert logs.count("[redacted]") >= 8, logs
    for secret in SECRETS:
        assert secret not in logs, logs
