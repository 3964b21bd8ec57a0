"""Process isolation of a sandboxed run (Linux): namespaces, identity, rlimits, seccomp.

Each run is alone: it cannot name, signal, limit, slow or outlive any other process.
- Its own identity: a uid (and gid) of its own, from the range of the process that starts runs
  (`run_uid`): the kernel then refuses it every call on another run, its zygote or the worker
  (kill, prlimit, setpriority, sched_*, ptrace all check the uid), and it owns no file.
- Its own PID namespace (fork mode): the run is pid 1 of a namespace of its own, so no other
  process is even visible to it, and nothing it could start outlives it.
- An empty root (`chroot`): not even `stat` reaches a path (the key file, the database).
- rlimits (CPU, address space, file size, no new processes, no locked memory) and a seccomp
  filter (sandbox/seccomp_policy.py) whose calls on a process may only name the run itself.

Order matters and is driven by `apply()` (spawn mode):
  unshare(net, ipc, uts) -> parent-death signal -> chroot -> rlimits -> identity -> NPROC=0,
  not dumpable -> seccomp (last, because it forbids setuid & co).
Fork mode splits it: the zygote does the namespaces once (`isolate_zygote`; sandbox/zygote.py
starts it in a PID namespace of its own and clones each run into another), each run the rest
(`isolate_forked_child`). The zygote keeps root in its namespaces: it must create PID namespaces
and give each run its identity; it never runs user code, and its own filter forbids exec,
sockets, mounts and ptrace. Everything the program may need must already be imported: after
the chroot no file can be found, and after seccomp none can be opened. Namespaces, identity and
chroot need root and are skipped (reported) otherwise; rlimits and seccomp are always applied,
and failing to apply anything is fatal (fail closed).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import resource
import signal
import stat
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from sandbox import seccomp_bpf, seccomp_policy
from sandbox.seccomp_bpf import CompiledFilter

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
NOBODY = 65534
# Run identities: each process that starts runs (a zygote, or a worker in spawn mode) owns
# UIDS_PER_OWNER uids from RUN_UID_FIRST + (its pid % 2**22) * UIDS_PER_OWNER, so two live owners
# never share one (pids of live processes are unique; 2**22 is the kernel's pid_max ceiling).
# 2**30 .. 2**31 - 1: no system or login account there, and every uid fits a C int (some APIs,
# setpriority(PRIO_USER) among them, take a uid as one).
RUN_UID_FIRST = 1 << 30
UIDS_PER_OWNER = 256
# The clone syscall, to create a child in a new PID namespace (os.fork cannot): its number by
# architecture; elsewhere runs share the zygote's PID namespace (still one uid each).
SYS_CLONE = {"x86_64": 56, "aarch64": 220}


@dataclass
class IsolationReport:
    namespaces: bool = False
    uid_dropped: bool = False
    seccomp: bool = False
    notes: str = ""
    pid_namespace: bool = False
    own_uid: bool = False
    chroot: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache  # dlopen once (in the zygote, before the fork), not in every run
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def is_root() -> bool:
    return os.geteuid() == 0


def run_uid(owner_pid: int, slot: int) -> int:
    """The identity of run `slot` (1 .. UIDS_PER_OWNER - 1) of the owner with pid `owner_pid`."""
    if not 0 < slot < UIDS_PER_OWNER:
        raise ValueError(f"run slot {slot} out of range")
    return RUN_UID_FIRST + (owner_pid % (1 << 22)) * UIDS_PER_OWNER + slot


def empty_root() -> str:
    """An empty directory owned by root that runs chroot into. Created once per process; the
    shared path is used only if it is what it should be (a pre-planted one is not trusted)."""
    path = os.path.join(tempfile.gettempdir(), "hyperoru-jail-root")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o555)
    info = os.lstat(path)
    writable = stat.S_IMODE(info.st_mode) & 0o222
    if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not writable and not os.listdir(path):
        return path
    path = tempfile.mkdtemp(prefix="hyperoru-jail-")
    os.chmod(path, 0o555)
    return path


def unshare_namespaces(report: IsolationReport, extra: int = 0) -> None:
    """New network (only a down loopback), IPC and UTS namespaces (and `extra`: CLONE_NEWPID for
    the zygote's children). Needs CAP_SYS_ADMIN."""
    if not is_root():
        report.notes += "not root: no namespaces; "
        return
    if libc().unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | extra) != 0:
        err = ctypes.get_errno()
        # e.g. root inside a container without CAP_SYS_ADMIN: seccomp still blocks sockets.
        report.notes += f"unshare failed ({errno.errorcode.get(err, err)}); "
        return
    report.namespaces = True
    report.pid_namespace = bool(extra & CLONE_NEWPID)


def clone_into_new_pid_namespace() -> int:
    """fork(), the child in a PID namespace of its own (it is pid 1 there, and sees no process
    outside it). Returns the child's pid in the parent, 0 in the child; -1 if unavailable. The
    caller must be single-threaded (like os.fork, without CPython's at-fork hooks)."""
    number = SYS_CLONE.get(os.uname().machine)
    if number is None or not is_root():
        return -1
    pid = libc().syscall(number, CLONE_NEWPID | signal.SIGCHLD, 0, 0, 0, 0)
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone(CLONE_NEWPID) failed")
    return int(pid)


def die_with_parent() -> None:
    """SIGKILL when the parent dies (a run's prctl filter then forbids clearing it)."""
    if libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def enter_empty_root(report: IsolationReport, root: str | None) -> None:
    if root is None or not is_root():
        report.notes += "no chroot; "
        return
    os.chroot(root)
    os.chdir("/")
    report.chroot = True


def set_rlimits(cpu_seconds: int, memory_mb: int | None) -> None:
    """`memory_mb` None: every limit but the address space's (see limit_memory)."""
    # CPU counts the whole process, interpreter start included (~0.2 s). Soft limit -> SIGXCPU,
    # hard limit one second later -> SIGKILL, in case the program ignores SIGXCPU.
    cpu = max(1, int(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if memory_mb is not None:
        limit_memory(memory_mb)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))


def limit_memory(memory_mb: int) -> None:
    """The address-space limit. A backtest step sets it last, once it has let go of its
    session's candle history (sandbox/session_host.py): the limit is the program's, as live."""
    mem = max(64, int(memory_mb)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))


def take_identity(report: IsolationReport, uid: int | None) -> None:
    """Become `uid` (its own gid too, no groups), or nobody without one; no capability left."""
    if not is_root():
        report.notes += "not root: uid unchanged; "
    else:
        target = NOBODY if uid is None else uid
        libc().prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)  # leaving uid 0 then clears every capability
        os.setgroups([])
        os.setresgid(target, target, target)
        os.setresuid(target, target, target)
        if os.getresuid() != (target,) * 3 or os.getresgid() != (target,) * 3:
            raise RuntimeError(f"setresuid({target}) did not take effect")
        if _capabilities():
            raise RuntimeError("capabilities survived the identity change")
        report.uid_dropped = True
        report.own_uid = uid is not None
    # Not dumpable: /proc/<pid> of this process becomes root-owned, no ptrace by peers.
    libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]  # fmt: skip


def _capabilities() -> int:
    """This process's permitted capabilities as a bit set (capget, version 3)."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    if libc().capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    return int(data[0].permitted) | int(data[1].permitted) << 32


def forbid_new_processes() -> None:
    # After the uid change (root is exempt from NPROC). Blocks fork/threads even if seccomp
    # were bypassed: the uid already owns a process, so the count is always over 0.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def preload_pyseccomp() -> None:
    """Import pyseccomp quickly. At import it resolves libc and libseccomp with
    ctypes.util.find_library, which runs `ldconfig -p` twice (~20 ms of every sandbox start);
    the standard sonames are tried first, falling back to the real lookup."""
    import ctypes.util

    original = ctypes.util.find_library
    sonames = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}

    def fast_find_library(name: str) -> str | None:
        soname = sonames.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return original(name)

    ctypes.util.find_library = fast_find_library
    try:
        import pyseccomp  # noqa: F401
    finally:
        ctypes.util.find_library = original


def build_seccomp_filter(pid: int) -> Any:
    """The run's filter (sandbox/seccomp_policy.py), signals allowed only to `pid`."""
    return seccomp_policy.run_filter(pid)


def install_seccomp(report: IsolationReport, compiled: CompiledFilter | None = None) -> None:
    if compiled is not None:  # fork mode: compiled once by the zygote
        seccomp_bpf.load(compiled.for_pid(os.getpid()), libc())
    else:
        build_seccomp_filter(os.getpid()).load()  # also sets no_new_privs: works without root
    report.seccomp = True


def precompile_seccomp() -> CompiledFilter | None:
    return seccomp_bpf.compile_filter(build_seccomp_filter)


def apply(
    cpu_seconds: int, memory_mb: int, uid: int | None = None, root: str | None = None
) -> IsolationReport:
    """Spawn mode: the whole jail, in the fresh interpreter that then runs the program."""
    report = IsolationReport()
    unshare_namespaces(report)
    die_with_parent()
    enter_empty_root(report, root)
    set_rlimits(cpu_seconds, memory_mb)
    take_identity(report, uid)
    forbid_new_processes()
    install_seccomp(report)
    return report


def isolate_zygote() -> IsolationReport:
    """Fork mode, once in the pre-warmed parent, after it entered its own PID namespace: what
    holds for all its children. It stays root there (see the module docstring) under a seccomp
    filter without the rules its children still need, which they inherit under their own."""
    report = IsolationReport()
    unshare_namespaces(report)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return report


def install_zygote_seccomp() -> None:
    seccomp_policy.zygote_filter().load()


def isolate_forked_child(
    cpu_seconds: int,
    memory_mb: int,
    zygote: IsolationReport,
    compiled: CompiledFilter | None = None,
    uid: int | None = None,
    root: str | None = None,
    memory_now: bool = True,
) -> IsolationReport:
    """Fork mode, per run in the freshly cloned child (already in the zygote's namespaces, in a
    PID namespace of its own): empty root, limits, its own identity, no new processes, seccomp
    (precompiled by the zygote when possible). `memory_now` False: the caller sets the
    address-space limit itself (limit_memory) before any user code runs."""
    report = IsolationReport(zygote.namespaces, False, False, zygote.notes)
    report.pid_namespace = os.getpid() == 1
    enter_empty_root(report, root)
    set_rlimits(cpu_seconds, memory_mb if memory_now else None)
    take_identity(report, uid)
    forbid_new_processes()
    install_seccomp(report, compiled)
    return report
