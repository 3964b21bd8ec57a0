"""Fork mode, backtests: the session parent. One per backtest run, forked by the backtest zygote
(sandbox/zygote.py, op "session") and driven by the worker (sandbox/backtest_session.py).

It holds what a backtest's steps share: the compiled program and the run's candle history
(sandbox/backtest_candles.py). It never runs user code. For each step the worker sends the
step's three pipe ends, exactly as it does to the zygote for a live run ({"op": "run", "id"}
with stdin, stdout, stderr; {"op": "kill", "id"}; it answers {"op": "exit", "id", "status"}),
and it forks a fresh child that jails itself like a live run, reads the step's small part on
its stdin (step, at_ms, seed, and the account part of the snapshot), takes its candles from
array slices of the history, forgets the rest of it and runs a fresh `Strategy().should_trade`
(sandbox/serve.run_jailed, the live code). The worker asks for a step's process as soon as it
has the answer of the step before, so the fork and the jail overlap the worker's own work; when
it comes, the session first ends what is left of the step before (its exit), so two steps
never live at once.

Isolation, the same as live's:
- Steps are fresh processes, as live runs: nothing a step does to its interpreter (module
  state, monkey-patching, globals) reaches the next step, which is forked from the session
  parent, not from the step before.
- A step is jailed exactly as a live run: a PID namespace of its own (it sees no other process;
  nothing it starts outlives it), the run identity the zygote gave this session (a uid of the
  zygote's range, never shared with another run or session while this one lives: steps run one
  at a time), the empty root, the same rlimits and the same seccomp filter (precompiled by the
  zygote), all in place before it reads its input; the address-space limit comes last, once
  the history is let go of, before any user code. It cannot name or signal the session
  parent: another PID namespace and another uid (the parent keeps root, which the run uid
  cannot reach).
- The session parent itself is run-like: cloned by the zygote into a PID namespace of its own
  (its steps die with it), in the zygote's network, IPC and UTS namespaces, chrooted into the
  empty root once its setup is read, not dumpable, under the zygote's seccomp filter (no exec,
  no sockets, no mounts, no ptrace), dying with the zygote. It keeps root (in those
  namespaces) because, like the zygote, it must create PID namespaces and give each step its
  identity; unlike the zygote it holds one backtest's code and candles, and only that one's:
  one backtest never sees another's data, and the zygote still never sees code or snapshots.
- It dies with its backtest: the worker closes its control socket (end of file: it kills its
  step and exits) and has the zygote kill it; and with the worker, as the zygote does.

A step cannot see later candles through the parent's memory either: before user code runs it
drops every reference to the history (the arrays are freed, their pages unmapped), keeping
only its own 100-candle windows. That also keeps the history out of its memory limit. (A
program that dug through freed memory with the interpreter's own objects would find at most
its own backtest's candles: it can only cheat itself.)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
from dataclasses import dataclass
from types import CodeType
from typing import Any

from sandbox import jail, protocol, serve
from sandbox.backtest_candles import Series, decode_setup, klines_of
from sandbox.determinism import BacktestContext
from sandbox.seccomp_bpf import CompiledFilter

SETUP_FD, CONTROL_FD, STDERR_FD, DEVNULL_FD = 0, 1, 2, 3
_MAX_MESSAGE = 4096


@dataclass
class _Step:
    run_id: int
    pid: int
    pidfd: int


class SessionHost:
    def __init__(
        self,
        code: str,
        limits: dict[str, Any],
        series: list[Series],
        uid: int | None,
        zygote_report: jail.IsolationReport,
        seccomp: CompiledFilter | None,
    ) -> None:
        self.code, self.limits, self.series = code, limits, series
        self.compiled: CodeType | None = None
        self.compile_error = ""
        try:  # the worker checked it already (sandbox/compile_check.py): a second line
            self.compiled = compile(code, "<program>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            self.compile_error = f"program cannot be compiled: {type(exc).__name__}: {exc}"
        self.uid, self.zygote_report, self.seccomp = uid, zygote_report, seccomp
        self.chrooted = False
        self.control = socket.socket(fileno=CONTROL_FD)
        self.control.setblocking(True)
        self.step: _Step | None = None

    def serve_forever(self) -> None:
        self.send({"op": "ready"})
        while True:
            watch = [CONTROL_FD] + ([self.step.pidfd] if self.step is not None else [])
            readable, _, _ = select.select(watch, [], [])
            if self.step is not None and self.step.pidfd in readable:
                self.reap()
            if CONTROL_FD in readable and not self.receive():
                break
        if self.step is not None:
            _kill(self.step.pid)

    def receive(self) -> bool:
        msg, fds, _, _ = socket.recv_fds(self.control, _MAX_MESSAGE, 3)
        try:
            if not msg:
                return False
            request = json.loads(msg)
            run_id = int(request["id"])
            if request["op"] == "run" and len(fds) == 3:
                self.fork(run_id, fds)
            elif request["op"] == "kill" and self.step is not None and self.step.run_id == run_id:
                _kill(self.step.pid)
        finally:
            for fd in fds:
                os.close(fd)
        return True

    def fork(self, run_id: int, fds: list[int]) -> None:
        if self.step is not None:
            # The worker has what it needs of the step before (its answer, or it gave up on
            # it): what is left of it (its exit) ends now, so that it cannot hold this step up
            # and the steps never share their identity.
            _kill(self.step.pid)
            self.reap()
        try:
            pid = jail.clone_into_new_pid_namespace()
            if pid < 0:  # not root, or an architecture without the clone number
                pid = os.fork()
        except OSError as exc:
            self.send({"op": "error", "id": run_id, "error": f"fork failed: {exc!r}"})
            return
        if pid == 0:
            try:
                self.become_step(fds)
            finally:
                os._exit(70)
        self.step = _Step(run_id, pid, os.pidfd_open(pid))

    def become_step(self, fds: list[int]) -> None:
        """In the forked child: jail, take the step's input, forget the history, run."""
        parent = os.getppid()
        os.setsid()
        jail.die_with_parent()  # getppid() is 0 in a PID namespace of its own, and stays 0
        if os.getppid() != parent:
            return
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        self.control.detach()  # fd 1 is the step's stdout now
        os.closerange(DEVNULL_FD + 1, 1 << 20)
        # Jailed before its input comes (the worker asks for a step's process as soon as it
        # has the answer of the one before, so this overlaps the worker's own work), but for
        # the memory limit, which follows once the history is let go of (it is not counted
        # against the program then, as live).
        try:
            report = jail.isolate_forked_child(
                self.limits["cpu_seconds"], self.limits["memory_mb"], self.zygote_report,
                self.seccomp, self.uid, "/" if self.chrooted else None, memory_now=False,
            )  # fmt: skip
        except Exception as exc:  # fail closed: never run the program half-isolated
            serve.emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE,
                           "error": f"isolation failed: {exc!r}"})  # fmt: skip
            return
        raw = serve.read_all(0)
        try:
            request = json.loads(raw)
            context = BacktestContext.from_json(
                {"seed": request["seed"], "step": request["step"], "now_ms": request["at_ms"]}
            )
            snapshot = {**request["account"], "klines": klines_of(self.series, context.now_ms)}
            from sandbox.market_data import MarketData

            data = MarketData(snapshot)  # copies its windows
        except Exception as exc:  # a malformed request: the worker's problem
            serve.emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE,
                           "error": f"boot: {exc!r}"})  # fmt: skip
            return
        del snapshot, request, raw
        self.series = []  # the last references to the history: freed and unmapped here
        if self.compiled is None:
            error = {
                "ok": False,
                "error_code": protocol.INVALID_PROGRAM,
                "error": self.compile_error,
            }
            serve.emit(1, error)
            return

        def isolate(limits: dict[str, Any]) -> dict[str, Any]:
            jail.limit_memory(limits["memory_mb"])
            return report.as_dict()

        # The descriptors as in a live run: the result channel becomes fd 3 (run_jailed).
        devnull = os.dup(DEVNULL_FD)
        os.close(DEVNULL_FD)
        try:
            serve.run_jailed(
                self.code, self.compiled, data, self.limits, context, isolate, devnull, True
            )
        except BaseException:
            import traceback

            traceback.print_exc(file=sys.__stderr__)  # the worker maps e.g. MemoryError
            os._exit(70)
        os._exit(0)  # no interpreter teardown: nothing the program planted runs

    def reap(self) -> None:
        step, self.step = self.step, None
        assert step is not None
        _, status = os.waitpid(step.pid, 0)
        os.close(step.pidfd)
        self.send({"op": "exit", "id": step.run_id, "status": os.waitstatus_to_exitcode(status)})

    def send(self, message: dict[str, Any]) -> None:
        self.control.send(json.dumps(message).encode())


def serve_session(
    uid: int | None,
    root: str | None,
    zygote_report: jail.IsolationReport,
    seccomp: CompiledFilter | None,
) -> None:
    """The session parent, on its fds: the setup pipe, the control socket, stderr, /dev/null."""
    host = _load(uid, zygote_report, seccomp)
    report = jail.IsolationReport()
    jail.enter_empty_root(report, root)
    host.chrooted = report.chroot
    import gc

    gc.collect()
    gc.freeze()  # its steps' garbage collectors never touch (copy) the parent's objects
    host.serve_forever()


def _load(
    uid: int | None, zygote_report: jail.IsolationReport, seccomp: CompiledFilter | None
) -> SessionHost:
    """Read the setup to its end. A function of its own so that nothing but the host keeps a
    reference to the history (a step drops the host's, and the history is gone)."""
    setup = decode_setup(serve.read_all(SETUP_FD))
    os.close(SETUP_FD)
    return SessionHost(setup.code, setup.limits, setup.series, uid, zygote_report, seccomp)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # not yet reaped by us, so the pid is still this child
