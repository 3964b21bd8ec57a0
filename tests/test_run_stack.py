"""`python -m cli run` end to end, as a user runs it: a real subprocess, real ports, Ctrl-C.

Brings the stack up, trades through the HTTP API, kills the worker (the supervisor restarts it
and trading goes on), stops with SIGINT (everything it started is gone), then starts again on
the same data: traders, their state and their history are all still there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

SMALL_LONG = """
class Strategy:
    def should_trade(self, data):
        price = data.get_price("BTC")
        return Decision(operation="long", symbol="BTC", size_usd=10, leverage=1,
                        take_profit_pct=50, stop_loss_pct=50,
                        reasoning=f"buy at {price}")
"""


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """Poll `probe` until it returns something truthy; exceptions count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Exception as exc:  # retried until the deadline
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(every)


def port_open(port: int) -> bool:
    with contextlib.closing(socket.socket()) as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def cmdline(pid: int) -> str | None:
    """The command line of a live (not zombie) process, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, IndexError):
        return None


def children_of(ppid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == ppid and (cmd := cmdline(int(entry.name))):
            found[int(entry.name)] = cmd
    return found


class Run:
    """One `python -m cli run`, its output in a file, and every child it was seen with."""

    def __init__(self, data_dir: Path, ports: dict[str, int], log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")}
        env.update(
            PYTHONUNBUFFERED="1",
            HYPERORU_DATA_DIR=str(data_dir),
            HYPERORU_DATABASE_URL=f"sqlite:///{data_dir}/hyperoru.db",
            HYPERORU_API_HOST="127.0.0.1",
            HYPERORU_API_PORT=str(ports["api"]),
            HYPERORU_TEMPORAL_PORT=str(ports["temporal"]),
            HYPERORU_TEMPORAL_UI_PORT=str(ports["ui"]),
        )
        self.ports, self.log = ports, log
        self.seen: dict[int, str] = {}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "runtime.cli", "run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.offset = log.stat().st_size if log.exists() else 0
        # trust_env=False: a proxy from the environment must not come between us and 127.0.0.1.
        url = f"http://127.0.0.1:{ports['api']}"
        self.api = httpx.Client(base_url=url, timeout=30, trust_env=False)

    def output(self) -> str:
        return self.log.read_bytes().decode(errors="replace")

    def children(self) -> dict[int, str]:
        found = children_of(self.proc.pid)
        self.seen.update(found)
        return found

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> bool:
        assert self.alive(), f"`cli run` exited early with code {self.proc.returncode}"
        return True

    def healthy(self) -> bool:
        self.check_alive()
        self.children()
        return self.api.get("/api/health").json() == {"status": "healthy"}

    def call(self, method: str, url: str, status: int = 200, **kw: Any) -> Any:
        r = self.api.request(method, url, **kw)
        assert r.status_code == status, f"{method} {url}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def decisions(self, account_id: int) -> list[dict[str, Any]]:
        page = self.call(
            "GET", f"/api/account/{account_id}/decisions?per_page=200&include_snapshot=false"
        )
        assert page["total"] == len(page["items"]), page["total"]
        return page["items"]

    def interrupt(self) -> float:
        """Ctrl-C; returns how long the supervisor took to exit."""
        self.children()
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            raise AssertionError("`cli run` did not exit within 25 s of SIGINT") from None
        took = time.monotonic() - t0
        assert code == 0, f"`cli run` exited with {code} after SIGINT"
        assert took < 20, f"`cli run` took {took:.1f} s to stop"
        return took

    def assert_all_gone(self) -> None:
        kinds = {"temporal": "server start-dev", "worker": "cli worker", "api": "cli api"}
        for kind, marker in kinds.items():
            assert any(marker in c for c in self.seen.values()), f"never saw the {kind} process"
        wait_for(
            "children of `cli run` gone",
            lambda: not [p for p, c in self.seen.items() if cmdline(p) == c],
            5,
        )
        for name, port in self.ports.items():
            wait_for(f"{name} port {port} closed", lambda port=port: not port_open(port), 5)
        assert "[hyperoru] stopped" in self.output()[self.offset :]

    def kill_leftovers(self) -> None:
        self.api.close()
        if self.alive():
            self.children()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        for pid, cmd in self.seen.items():
            if cmdline(pid) == cmd:  # still the very process this run started
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def log_in_as_first_user(run: Run) -> str:
    """A fresh data dir gets admin@localhost, its password printed once; log in with it."""
    out = run.output()[run.offset :]
    assert "first user created: admin@localhost" in out, out
    found = re.search(r"its password \(shown only this once\): (\S+)", out)
    assert found, out
    assert run.api.get("/api/account/list").status_code == 401  # no token, no traders
    login = {"email": "admin@localhost", "password": found.group(1)}
    token = run.call("POST", "/api/users/login", json=login)["session_token"]
    run.api.headers["Authorization"] = f"Bearer {token}"
    return str(token)


def worker_pids(run: Run) -> list[int]:
    return [p for p, c in run.children().items() if "cli worker" in c]


def start(run: Run) -> None:
    wait_for("GET /api/health is healthy", run.healthy, 90)
    wait_for(
        "the URLs are printed",
        lambda: "press Ctrl-C" in run.output()[run.offset :] or (run.check_alive() and None),
        10,
    )
    out = run.output()[run.offset :]
    api, ui = run.ports["api"], run.ports["ui"]
    assert f"API:         http://127.0.0.1:{api}  (docs: http://127.0.0.1:{api}/docs)" in out, out
    assert f"Temporal UI: http://127.0.0.1:{ui}" in out, out
    assert f"Web app:     http://127.0.0.1:{api}/" in out, out
    assert run.api.get("/docs").status_code == 200
    login = run.api.get("/login")  # the web app's login page, served by the same process
    assert login.status_code == 200 and 'data-testid="login-submit"' in login.text
    r = wait_for(
        "Temporal UI answers",
        lambda: httpx.get(f"http://127.0.0.1:{ui}/", timeout=5, trust_env=False),
        20,
    )
    assert r.status_code < 500, r.status_code
    kinds = run.children().values()
    for marker in ("server start-dev", "cli worker", "cli api"):
        assert any(marker in c for c in kinds), (marker, kinds)


def new_decision(run: Run, account_id: int, after_seq: int, trigger: str) -> dict[str, Any] | None:
    run.check_alive()
    for d in run.decisions(account_id):
        if d["seq"] > after_seq and d["trigger_type"] == trigger and d["status"] == "executed":
            return d
    return None


def test_run_stack_survives_worker_crash_and_restart(tmp_path: Path) -> None:
    ports: dict[str, int] = {}
    while len(set(ports.values())) < 3:
        ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    data, log = tmp_path / "data", tmp_path / "cli-run.log"
    runs: list[Run] = []
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        # --- first run: up, trade, lose the worker, keep trading, Ctrl-C -------------------
        runs.append(run := Run(data, ports, log))
        start(run)
        timings["first start"] = time.monotonic() - t0
        # The dev server's store runs in WAL mode (its default journal syncs on every commit).
        with contextlib.closing(sqlite3.connect(data / "temporal.db")) as tdb:
            assert tdb.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        token = log_in_as_first_user(run)
        active = run.call(
            "POST",
            "/api/account/",
            201,
            json={"name": "e2e", "account_type": "program", "trading_enabled": True},
        )
        paused = run.call(
            "POST",
            "/api/account/",
            201,
            json={"name": "e2e-paused", "account_type": "program", "trading_enabled": True},
        )
        program = run.call("POST", "/api/programs/", 201, json={"name": "e2e", "code": SMALL_LONG})
        for acct in (active, paused):
            run.call(
                "POST",
                f"/api/account/{acct['id']}/bindings",
                201,
                json={"program_id": program["id"], "schedule_interval_seconds": 5},
            )
        assert run.call("POST", f"/api/account/{paused['id']}/pause")["status"] == "Paused"
        out = run.call("POST", f"/api/account/{active['id']}/trigger")
        assert out["status"] == "executed", out
        assert out["orders"], out

        old_worker = worker_pids(run)
        assert len(old_worker) == 1, run.children()
        os.kill(old_worker[0], signal.SIGKILL)
        t_kill = time.monotonic()
        wait_for(
            "the supervisor says it restarts the worker",
            lambda: "worker exited with code -9; restarting it" in run.output()[run.offset :],
            10,
        )
        wait_for("the killed worker is reaped", lambda: cmdline(old_worker[0]) is None, 5)
        baseline = max(d["seq"] for d in run.decisions(active["id"]))
        wait_for(
            "a new worker is running",
            lambda: [p for p in worker_pids(run) if p != old_worker[0]],
            15,
        )
        wait_for(
            "a scheduled decision after the worker restart",
            lambda: new_decision(run, active["id"], baseline, "schedule"),
            45,
            every=0.5,
        )
        timings["trading again after worker kill"] = time.monotonic() - t_kill
        first_run = run.decisions(active["id"])
        assert run.decisions(paused["id"]) == []

        timings["first stop"] = run.interrupt()
        run.assert_all_gone()
        run.api.close()

        # --- second run on the same data: everything is still there and carries on ----------
        t1 = time.monotonic()
        runs.append(run := Run(data, ports, log))
        start(run)
        timings["second start"] = time.monotonic() - t1
        assert "first user created" not in run.output()[run.offset :]  # only on a fresh dir
        run.api.headers["Authorization"] = f"Bearer {token}"  # sessions survive a restart
        listed = {a["id"]: a for a in run.call("GET", "/api/account/list")}
        assert set(listed) == {active["id"], paused["id"]}, listed
        assert listed[active["id"]]["status"] == "Active", listed
        assert listed[active["id"]]["trading_enabled"] is True, listed
        assert listed[paused["id"]]["status"] == "Paused", listed
        assert listed[paused["id"]]["trading_enabled"] is False, listed

        history = {d["id"]: d for d in run.decisions(active["id"])}
        for d in first_run:
            assert history.get(d["id"]) == d, f"decision {d['id']} changed or lost"
        latest = max(d["seq"] for d in history.values())
        t_resume = time.monotonic()
        wait_for(
            "a scheduled decision in the second run",
            lambda: new_decision(run, active["id"], latest, "schedule"),
            30,
            every=0.5,
        )
        timings["trading again after restart"] = time.monotonic() - t_resume
        seqs = [d["seq"] for d in run.decisions(active["id"])]
        assert len(seqs) == len(set(seqs)) > len(first_run), seqs
        r = run.api.post(f"/api/account/{paused['id']}/trigger")
        assert r.status_code == 409 and r.json()["code"] == "TRADER_PAUSED", r.text
        assert run.decisions(paused["id"]) == []

        timings["second stop"] = run.interrupt()
        run.assert_all_gone()
        timings["total"] = time.monotonic() - t0
        print("timings:", {k: round(v, 1) for k, v in timings.items()})
    except BaseException:
        text = log.read_bytes().decode(errors="replace") if log.exists() else "(no output)"
        print(f"timings: {timings}\n--- `cli run` output (last 150 lines) ---")
        print("\n".join(text.splitlines()[-150:]))
        raise
    finally:
        for r in runs:
            r.kill_leftovers()
