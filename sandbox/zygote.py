"""Fork mode: the pre-warmed sandbox parent ("zygote"). `python -I sandbox/zygote.py <fd>`.

The worker starts it with exec and the scrubbed child environment (sandbox.protocol.child_env),
never by forking itself, so no secret, DB URL or other trader's data is in its memory. It
imports everything a program may use, jails itself once (namespaces, uid nobody, not dumpable)
and then forks one child per run. It never runs user code and never even sees code or
snapshots: the worker passes the three pipe ends of each run (request in, result out, stderr)
with the run message, and the child reads its request from its own stdin.

Control protocol on the SOCK_SEQPACKET socket <fd>, one JSON object per message:
  worker -> zygote: {"op": "run", "id": n} with 3 fds (stdin, stdout, stderr of the child)
                    {"op": "kill", "id": n}
  zygote -> worker: {"op": "ready", "isolation": {...}} once, when it is jailed and warm
                    {"op": "exit", "id": n, "status": s} (s < 0: killed by signal -s)
                    {"op": "error", "id": n, "error": "..."} (could not fork)
End of file on the socket (the worker closed it or died): kill every child and exit.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys

if __name__ == "__main__":  # -I leaves the script's directory off sys.path; add the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandbox import jail, program, serve  # noqa: E402 - needs the sys.path entry above

PR_SET_PDEATHSIG = 1
_MAX_MESSAGE = 4096


class Zygote:
    def __init__(self, control: socket.socket, report: jail.IsolationReport) -> None:
        self.control = control
        self.report = report
        self.seccomp = jail.precompile_seccomp()  # None: each child builds its own filter
        jail.libc()  # loaded once here, not in every child
        jail.install_zygote_seccomp()
        self.children: dict[int, int] = {}  # pid -> run id
        self.by_id: dict[int, int] = {}  # run id -> pid
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve_forever(self) -> None:
        # Why a wakeup fd: SIGCHLD must interrupt the select() below to reap children promptly.
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.send({"op": "ready", "isolation": self.report.as_dict()})
        while True:
            control = self.control.fileno()
            readable, _, _ = select.select([control, self.wake_r], [], [])
            if self.wake_r in readable:
                while _drain(self.wake_r):
                    pass
            self.reap()
            if control in readable and not self.receive():
                break
        for pid in self.children:
            _kill(pid)

    def receive(self) -> bool:
        msg, fds, _, _ = socket.recv_fds(self.control, _MAX_MESSAGE, 3)
        try:
            if not msg:
                return False
            request = json.loads(msg)
            run_id = int(request["id"])
            if request["op"] == "run" and len(fds) == 3:
                self.fork(run_id, fds)
            elif request["op"] == "kill" and run_id in self.by_id:
                _kill(self.by_id[run_id])
        finally:
            for fd in fds:
                os.close(fd)
        return True

    def fork(self, run_id: int, fds: list[int]) -> None:
        try:
            pid = os.fork()
        except OSError as exc:
            self.send({"op": "error", "id": run_id, "error": f"fork failed: {exc!r}"})
            return
        if pid == 0:
            try:
                self.become_child(fds)
            finally:
                os._exit(70)
        self.children[pid] = run_id
        self.by_id[run_id] = pid

    def become_child(self, fds: list[int]) -> None:
        """In the forked child: detach from the zygote's state, then serve the one run."""
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # own process group and session, like a spawned child
        # Dies with the zygote (which is single-threaded, so "parent" is well defined).
        jail.libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            return
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        self.control.detach()  # the object forgets the fd: it can never act on a reused number
        os.closerange(3, 1 << 20)  # the control socket, the wakeup pipe, everything else
        program.reseed()  # or every child would repeat the zygote's random sequence
        raw = serve.read_all(0)
        zygote_report, compiled = self.report, self.seccomp

        def isolate(limits: dict) -> dict:
            cpu, mem = limits["cpu_seconds"], limits["memory_mb"]
            return jail.isolate_forked_child(cpu, mem, zygote_report, compiled).as_dict()

        try:
            serve.serve(raw, isolate)
        except BaseException:
            import traceback

            traceback.print_exc(file=sys.__stderr__)  # the parent maps e.g. MemoryError
            os._exit(70)
        os._exit(0)  # no interpreter teardown: nothing the program planted runs

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run_id = self.children.pop(pid, None)
            if run_id is not None:
                del self.by_id[run_id]
                code = os.waitstatus_to_exitcode(status)
                self.send({"op": "exit", "id": run_id, "status": code})

    def send(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # not yet reaped by us, so the pid is still this child


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    control.setblocking(True)
    program.preload()
    # The children's own modules too: once the zygote is nobody, the stdlib under /root is
    # unreadable, and after seccomp nothing can be opened at all.
    import sandbox.market_data
    import sandbox.runtime  # noqa: F401

    report = jail.isolate_zygote()
    # Why freeze: the children's garbage collector then never walks (and so never writes to,
    # copying on write) the zygote's objects; a fork stays cheap however much is preloaded.
    gc.collect()
    gc.freeze()
    Zygote(control, report).serve_forever()


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(70)
    os._exit(0)
