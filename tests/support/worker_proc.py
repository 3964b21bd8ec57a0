"""A real worker process (`python worker.py`) that tests can SIGKILL and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`stall_after`: the worker stops itself (SIGSTOP) once, right after that local step
    committed (tests/support/stalling_worker.py); `resume` wakes it."""

    def __init__(self, settings: Settings, stall_after: str = "") -> None:
        self.settings = settings
        self.stall_after = stall_after
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])

    def env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            HYPERORU_TEMPORAL_ADDRESS=s.resolved_temporal_address,
            HYPERORU_TEMPORAL_NAMESPACE=s.temporal_namespace,
            HYPERORU_DATABASE_URL=s.database_url or "",
            HYPERORU_TASK_QUEUE=s.task_queue,
            HYPERORU_SANDBOX_WALL_SECONDS=str(s.sandbox_wall_seconds),
            HYPERORU_SANDBOX_CPU_SECONDS=str(s.sandbox_cpu_seconds),
            HYPERORU_SANDBOX_MEMORY_MB=str(s.sandbox_memory_mb),
            HYPERORU_CONTINUE_AS_NEW_EVENTS=str(s.continue_as_new_events),
            HYPERORU_EXCHANGE_TIMEOUT_SECONDS=str(s.exchange_timeout_seconds),
            HYPERORU_ORDER_RESOLVE_SECONDS=str(s.order_resolve_seconds),
            HYPERORU_MARKET_SOURCE=s.market_source,
            HYPERORU_DATA_DIR=str(s.data_dir),
            HYPERORU_WORKER_WORKFLOW_SANDBOX=s.worker_workflow_sandbox,
        )
        if self.stall_after:
            env["HYPERORU_TEST_STALL_AFTER"] = self.stall_after
        return env

    def start(self) -> None:
        with self.log.open("ab") as out:
            entry = ["-m", "tests.support.stalling_worker"] if self.stall_after else ["worker.py"]
            self.proc = subprocess.Popen(
                [sys.executable, *entry],
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight activities are simply lost."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the worker stalls mid-flight (past a workflow task's timeout, say)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def stopped(self) -> bool:
        """Stopped by a signal (state T in /proc)."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "T"

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]
