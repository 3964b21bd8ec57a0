"""The real stack for browser tests: the API as `hyperoru api` serves it (a process on a free
port, so Chromium talks to it over real HTTP and WebSocket) and a worker process, on a
throwaway SQLite database and its own Temporal namespace. The API can be stopped and started
again on the same port (the socket-drop journey)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

from config.settings import Settings
from db.migrate import upgrade
from tests.support.api_process import COMMAND, ROOT, api_env, wait_listening
from tests.support.ports import free_port
from tests.support.stack import DEFAULT_EMAIL, DEFAULT_PASSWORD, make_settings, namespace_client
from tests.support.worker_proc import WorkerProcess

# The periodic schedules stay off (as in tests/support/stack.py): the tests drive the traders.
QUIET = {
    "HYPERORU_EQUITY_SAMPLE_SECONDS": "0",
    "HYPERORU_EQUITY_THIN_SECONDS": "0",
    "HYPERORU_NOTIFY_POLL_SECONDS": "0",
    "HYPERORU_NOTIFY_DAILY_SUMMARY_TIME": "",
    "HYPERORU_MARKET_REFRESH_SECONDS": "0",
}


class QuietWorker(WorkerProcess):
    def env(self) -> dict[str, str]:
        return {**super().env(), **QUIET}


def _register_namespace(settings: Settings) -> None:
    """In a thread of its own: the test's event loop is pytest-asyncio's, not to be run here."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(namespace_client(settings))
        except BaseException as err:  # reported in the test's thread
            failure.append(err)

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if failure:
        raise failure[0]


class WebStack:
    def __init__(self, temporal_address: str) -> None:
        folder = Path(tempfile.mkdtemp(prefix="hyperoru-browser-"))
        self.database_url = f"sqlite:///{folder}/web.db"
        upgrade(self.database_url)
        self.settings = make_settings(temporal_address, self.database_url)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "api.log"
        self.api: subprocess.Popen[bytes] | None = None
        self.worker = QuietWorker(self.settings)
        self.token = ""
        _register_namespace(self.settings)

    def env(self) -> dict[str, str]:
        s = self.settings
        return api_env(
            str(s.data_dir), self.database_url, s.resolved_temporal_address, self.port,
            HYPERORU_TEMPORAL_NAMESPACE=s.temporal_namespace, HYPERORU_TASK_QUEUE=s.task_queue,
            HYPERORU_SANDBOX_WALL_SECONDS=str(s.sandbox_wall_seconds), **QUIET,
        )  # fmt: skip

    def start_api(self) -> None:
        with self.log.open("ab") as out:
            self.api = subprocess.Popen(
                COMMAND, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT
            )
        wait_listening(self.api, self.base_url)

    def stop_api(self) -> None:
        """SIGTERM, as a service manager stops it: sockets are closed with 1001."""
        if self.api is not None and self.api.poll() is None:
            self.api.send_signal(signal.SIGTERM)
            try:
                self.api.wait(30)
            except subprocess.TimeoutExpired:
                self.api.kill()
                self.api.wait(10)

    def start(self) -> None:
        self.worker.start()
        self.start_api()
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            body = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}
            assert http.post("/api/users/register", json=body).status_code in (201, 409)
            self.token = http.post("/api/users/login", json=body).json()["session_token"]

    def stop(self) -> None:
        self.stop_api()
        self.worker.stop()

    def rest(self, method: str, url: str, **kw: Any) -> Any:
        """A REST call as the default user (the tests' setup and their ground truth)."""
        with httpx.Client(base_url=self.base_url, timeout=120) as http:
            r = http.request(method, url, headers={"Authorization": f"Bearer {self.token}"}, **kw)
        assert r.status_code < 300, (url, r.status_code, r.text)
        return r.json()

    async def call(self, method: str, url: str, **kw: Any) -> Any:
        """`rest` off the event loop (the browser's connection runs on it)."""
        return await asyncio.to_thread(self.rest, method, url, **kw)

    async def new_trader(self, name: str, code: str) -> int:
        return await asyncio.to_thread(self.trader, name, code)

    def trader(self, name: str, code: str) -> int:
        """A paper trader (paused, as new traders are) running `code`, bound."""
        body = {"name": name, "account_type": "program", "initial_capital": "10000",
                "max_leverage": "5", "max_position_notional_usd": "1000"}  # fmt: skip
        tid = int(self.rest("POST", "/api/account/", json=body)["account_id"])
        program = self.rest(
            "POST", "/api/programs/", json={"name": f"{name} program", "code": code}
        )
        self.rest("POST", f"/api/account/{tid}/bindings", json={"program_id": program["id"]})
        return tid
