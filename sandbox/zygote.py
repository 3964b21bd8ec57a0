"""Fork mode: the pre-warmed sandbox parent ("zygote"). `python -I sandbox/zygote.py <fd>`.

The worker starts it with exec and the scrubbed child environment (sandbox.protocol.child_env),
never by forking itself, so no secret, DB URL or other trader's data is in its memory. It
imports everything a program may use, then (as root) enters new network, IPC, UTS and PID
namespaces: the process the worker started stays outside as a thin launcher, and the zygote
proper is pid 1 of its PID namespace, so when it dies (or is killed) the kernel kills every run
it started, whatever a run did to itself. Each run is then cloned into a PID namespace of its
own, with a uid of its own from the launcher's range and an empty root (sandbox/jail.py). The
zygote never runs user code and never even sees code or snapshots: the worker passes the three
pipe ends of each run (request in, result out, stderr) with the run message, and the child
reads its request from its own stdin. A backtest session (sandbox/session_host.py) is forked
the same way, as a run-like process of its own that then forks the backtest's steps: the code
and candles go to it, never through the zygote.

Control protocol on the SOCK_SEQPACKET socket <fd>, one JSON object per message:
  worker -> zygote: {"op": "run", "id": n} with 3 fds (stdin, stdout, stderr of the child)
                    {"op": "session", "id": n} with 3 fds (the session's setup pipe, its control
                    socket, its stderr): a backtest session parent, in place of a run
                    {"op": "kill", "id": n}
  zygote -> worker: {"op": "ready", "isolation": {...}, "pid": p} once, when it is jailed and
                    warm (p: the zygote's pid as the worker sees it)
                    {"op": "exit", "id": n, "status": s} (s < 0: killed by signal -s)
                    {"op": "error", "id": n, "error": "..."} (could not fork, no free uid)
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

from sandbox import jail, program, serve, session_host  # noqa: E402 - needs the sys.path above

_MAX_MESSAGE = 4096


class Zygote:
    def __init__(
        self,
        control: socket.socket,
        report: jail.IsolationReport,
        owner_pid: int | None = None,
        root: str | None = None,
    ) -> None:
        self.control = control
        self.report = report
        self.owner_pid = owner_pid  # the launcher's pid: the range run uids come from
        self.root = root  # the empty directory runs chroot into
        self.slots: dict[int, int] = {}  # pid -> the run's uid slot (1 .. UIDS_PER_OWNER - 1)
        self.seccomp = jail.precompile_seccomp()  # None: each child builds its own filter
        jail.libc()  # loaded once here, not in every child
        self.children: dict[int, int] = {}  # pid -> run id
        self.by_id: dict[int, int] = {}  # run id -> pid
        self.wake_r, self.wake_w = os.pipe()  # before the filter, which forbids new pipes
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        jail.install_zygote_seccomp()

    def serve_forever(self) -> None:
        # Why a wakeup fd: SIGCHLD must interrupt the select() below to reap children promptly.
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.send({"op": "ready", "isolation": self.report.as_dict(), "pid": _host_pid()})
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
            if request["op"] in ("run", "session") and len(fds) == 3:
                self.fork(run_id, fds, session=request["op"] == "session")
            elif request["op"] == "kill" and run_id in self.by_id:
                _kill(self.by_id[run_id])
        finally:
            for fd in fds:
                os.close(fd)
        return True

    def fork(self, run_id: int, fds: list[int], session: bool = False) -> None:
        slot = None
        if self.owner_pid is not None:
            free = set(range(1, jail.UIDS_PER_OWNER)) - set(self.slots.values())
            if not free:
                self.send({"op": "error", "id": run_id, "error": "no free run identity"})
                return
            slot = min(free)
        try:
            # Why a PID namespace per run: the run sees no other process (not the zygote, not
            # another run), and nothing it could start outlives it (it is that namespace's pid 1).
            pid = jail.clone_into_new_pid_namespace()
            if pid < 0:  # not root, or an architecture without the clone number
                pid = os.fork()
        except OSError as exc:
            self.send({"op": "error", "id": run_id, "error": f"fork failed: {exc!r}"})
            return
        if pid == 0:
            try:
                uid = None if slot is None else jail.run_uid(self.owner_pid or 0, slot)
                if session:
                    self.become_session(fds, uid)
                else:
                    self.become_child(fds, uid)
            finally:
                os._exit(70)
        self.children[pid] = run_id
        self.by_id[run_id] = pid
        if slot is not None:
            self.slots[pid] = slot

    def detach(self, fds: list[int]) -> bool:
        """In the cloned child: leave the zygote's state, `fds` as 0, 1, 2. False: the zygote
        is gone already."""
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # own process group and session, like a spawned child
        # Dies with the zygote (which is single-threaded, so "parent" is well defined; in a PID
        # namespace of its own the parent is not visible: getppid() is 0 and stays 0).
        jail.die_with_parent()
        if os.getppid() != parent:
            return False
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        self.control.detach()  # the object forgets the fd: it can never act on a reused number
        return True

    def become_session(self, fds: list[int], uid: int | None) -> None:
        """In the cloned child: become a backtest's session parent (sandbox/session_host.py),
        its steps to run as `uid`."""
        if not self.detach(fds):
            return
        # Its steps start inside the empty root, where /dev/null cannot be opened: one for all.
        devnull = os.open(os.devnull, os.O_RDWR)
        if devnull != session_host.DEVNULL_FD:
            os.dup2(devnull, session_host.DEVNULL_FD)
            os.close(devnull)
        os.closerange(session_host.DEVNULL_FD + 1, 1 << 20)
        try:
            session_host.serve_session(uid, self.root, self.report, self.seccomp)
        except BaseException:
            import traceback

            traceback.print_exc(file=sys.__stderr__)
            os._exit(70)
        os._exit(0)

    def become_child(self, fds: list[int], uid: int | None) -> None:
        """In the cloned child: detach from the zygote's state, then serve the one run."""
        if not self.detach(fds):
            return
        os.closerange(3, 1 << 20)  # the control socket, the wakeup pipe, everything else
        program.reseed()  # or every child would repeat the zygote's random sequence
        raw = serve.read_all(0)
        zygote_report, compiled, root = self.report, self.seccomp, self.root

        def isolate(limits: dict) -> dict:
            cpu, mem = limits["cpu_seconds"], limits["memory_mb"]
            report = jail.isolate_forked_child(cpu, mem, zygote_report, compiled, uid, root)
            return report.as_dict()

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
            self.slots.pop(pid, None)  # the uid is free again: nothing of that run is left
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
    owner_pid, root = None, None
    if jail.is_root():  # first, so that the launcher stays a small process
        owner_pid, root = os.getpid(), jail.empty_root()
        launch_in_pid_namespace(control)
    program.preload()
    # The children's own modules too: after a run's chroot no module can be found, and after
    # seccomp nothing can be opened at all.
    import sandbox.market_data
    import sandbox.runtime  # noqa: F401

    report = jail.isolate_zygote()
    # Why freeze: the children's garbage collector then never walks (and so never writes to,
    # copying on write) the zygote's objects; a fork stays cheap however much is preloaded.
    gc.collect()
    gc.freeze()
    Zygote(control, report, owner_pid, root).serve_forever()


def launch_in_pid_namespace(control: socket.socket) -> None:
    """Split into the launcher (this process, returns never: it waits for the zygote and exits
    with it) and the zygote (returns, as pid 1 of a new PID namespace). Killing either ends the
    zygote, and the kernel then ends every run in the namespace."""
    jail.libc().unshare(jail.CLONE_NEWPID)  # for the children of this process
    pid = os.fork()
    if pid == 0:
        jail.die_with_parent()  # the worker kills the launcher (or it dies): the zygote goes
        return
    control.close()
    status = 70
    with contextlib.suppress(ChildProcessError):
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    os._exit(status if status >= 0 else 128 - status)


def _host_pid() -> int:
    """This process's pid as the worker sees it (/proc belongs to the worker's namespace)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(70)
    os._exit(0)
