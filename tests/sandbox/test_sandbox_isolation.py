"""Escape attempts fail: process isolation holds even when the Python-level guards are bypassed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from sandbox import jail
from sandbox.protocol import child_env
from sandbox.runner import SandboxLimits, run_program

IS_ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(wall_seconds=5.0, cpu_seconds=3)

# Reaches the real `os` module through the class hierarchy (the classic pyjail escape), then
# tries everything a malicious program would. Each attempt records "ok: ..." or "blocked: ...".
ESCAPE_PROGRAM = """
import json

class Strategy:
    def should_trade(self, data):
        os = None
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                os = k.__init__.__globals__["sys"].modules["os"]
        sys = os.sys
        real_import = os.__dict__["__builtins__"]["__import__"]
        port = PORT
        results = {"uid": os.getuid(), "env": dict(os.environ)}

        def attempt(name, fn):
            try:
                results[name] = "ok: " + repr(fn())[:200]
            except BaseException as exc:
                results[name] = "blocked: " + type(exc).__name__ + ": " + str(exc)[:200]

        def read(path):
            fd = os.open(path, os.O_RDONLY)
            return os.read(fd, 4096)

        def tcp():
            sock_mod = sys.modules.get("socket") or real_import("socket")
            s = sock_mod.socket(sock_mod.AF_INET, sock_mod.SOCK_STREAM)
            s.settimeout(1)
            s.connect(("127.0.0.1", port))
            return "connected"

        def raw_socket():
            ctypes = sys.modules["ctypes"]
            fd = ctypes.CDLL(None, use_errno=True).socket(2, 1, 0)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "socket() failed")
            return fd

        def file_io():
            return sys.modules["io"].FileIO("/etc/hostname").read()

        def system():
            status = os.system("true")
            if status != 0:
                raise OSError("system() failed with status %r" % status)
            return status

        def thread():
            t = sys.modules["threading"].Thread(target=lambda: None)
            t.start()
            return "started"

        attempt("proc1_environ", lambda: read("/proc/1/environ"))
        attempt("parent_environ", lambda: read("/proc/%d/environ" % os.getppid()))
        attempt("etc_passwd", lambda: read("/etc/passwd"))
        attempt("file_io", file_io)
        attempt("write_tmp", lambda: os.open("/tmp/escape", os.O_CREAT | os.O_WRONLY))
        attempt("listdir", lambda: os.listdir("/"))
        attempt("tcp_connect", tcp)
        attempt("raw_socket", raw_socket)
        attempt("subprocess", lambda: sys.modules["subprocess"].run(["/bin/true"]))
        attempt("system", system)
        attempt("fork", os.fork)
        attempt("thread", thread)
        attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
        attempt("kill_init", lambda: os.kill(2 if os.getpid() == 1 else 1, 0))  # not itself
        attempt("setuid_root", lambda: os.setuid(0))
        print(json.dumps(results))
        return Decision(operation="hold", reasoning="escape attempts done")
"""


async def test_escape_attempts_fail(
    snapshot: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"sekret-{uuid.uuid4()}"
    monkeypatch.setenv("HYPERORU_FAKE_SECRET", secret)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = await run_program(ESCAPE_PROGRAM.replace("PORT", str(port)), snapshot, LIMITS)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    finally:
        listener.close()

    assert result.ok, result
    assert secret not in result.logs and secret not in json.dumps(result.decision)
    report = json.loads(result.logs)
    assert report["env"] == child_env()  # nothing inherited from the parent
    for name, outcome in report.items():
        if name not in ("uid", "env"):
            assert outcome.startswith("blocked: "), f"{name}: {outcome}"
    if IS_ROOT:  # a uid of its own, from the range of the process that started it
        assert report["uid"] >= jail.RUN_UID_FIRST, report["uid"]


def _run_jail_script(body: str) -> dict[str, Any]:
    script = (
        textwrap.dedent(
            f"""
        import json, os, socket, sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy, talib, pyseccomp
        from sandbox import jail
        out = {{}}
        """
        )
        + textwrap.dedent(body)
        + "\nprint(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True, text=True, timeout=30, env=child_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(not IS_ROOT, reason="namespaces and the uid drop need root")
def test_jail_layers_each_block_network() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    try:
        out = _run_jail_script(
            f"""
            report = jail.IsolationReport()
            jail.unshare_namespaces(report)
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1)
                out["netns_connect"] = "connected"
            except OSError as exc:
                out["netns_connect"] = exc.errno
            jail.set_rlimits(5, 512)
            jail.take_identity(report, None)
            jail.forbid_new_processes()
            out["uid"] = [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]
            jail.install_seccomp(report)
            try:
                socket.socket()
                out["socket"] = "created"
            except OSError as exc:
                out["socket"] = exc.errno
            out["report"] = report.as_dict()
            """
        )
    finally:
        listener.close()
    assert out["netns_connect"] == 101  # ENETUNREACH: the new namespace has no route
    assert out["uid"] == [65534, 65534, 65534, []]
    assert out["socket"] == 1  # EPERM from seccomp
    assert out["report"]["namespaces"] and out["report"]["uid_dropped"] and out["report"]["seccomp"]


def test_jail_without_root_still_applies_rlimits_and_seccomp() -> None:
    out = _run_jail_script(
        """
        import resource
        os.geteuid = lambda: 1000  # pretend to be an ordinary user
        report = jail.apply(5, 512)
        out["report"] = report.as_dict()
        out["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)
        out["as"] = resource.getrlimit(resource.RLIMIT_AS)
        for name, fn in [("socket", socket.socket), ("fork", os.fork),
                         ("open", lambda: open("/etc/hostname"))]:
            try:
                fn()
                out[name] = "allowed"
            except OSError as exc:
                out[name] = exc.errno
        """
    )
    assert out["report"]["seccomp"] is True
    assert out["report"]["namespaces"] is False and out["report"]["uid_dropped"] is False
    assert "not root" in out["report"]["notes"]
    assert out["nproc"] == [0, 0] and out["as"] == [512 << 20, 512 << 20]
    assert out["socket"] == 1 and out["fork"] == 1 and out["open"] == 1
