"""Child-side process isolation (Linux): namespaces, rlimits, privilege drop, seccomp.

Order matters and is driven by `apply()` (spawn mode):
  unshare(net, ipc, uts) -> rlimits -> setgroups/setgid/setuid(nobody) -> NPROC=0, not dumpable
  -> seccomp deny-list (last, because it forbids setuid & co).
Fork mode splits it: the zygote does the namespaces and the uid drop once
(`isolate_zygote`), each forked child the rest (`isolate_forked_child`).
Everything the program may need must already be imported: after the drop the interpreter's
stdlib (under /root) is unreadable, and after seccomp no file can be opened at all.
Namespaces and the uid drop need root and are skipped (reported) otherwise; rlimits and
seccomp are always applied and failing to apply them is fatal (fail closed).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
from dataclasses import asdict, dataclass
from typing import Any

from sandbox import seccomp_bpf
from sandbox.seccomp_bpf import CompiledFilter

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
PR_SET_DUMPABLE = 4
NOBODY = 65534

# Syscalls a trading strategy never needs. Denied with EPERM (not KILL) so the program gets a
# clean Python exception. Names missing on the running architecture are skipped.
DENIED_SYSCALLS: tuple[str, ...] = (
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # new programs and processes/threads (threads too: the child is single-threaded)
    "execve", "execveat", "fork", "vfork", "clone", "clone3",
    # files: everything is imported before this point, the program gets no filesystem
    "open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at",
    "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "truncate",
    "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "uselib",
    # io_uring can perform the above without the syscalls being visible to seccomp
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # other processes and the kernel
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "tkill",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "iopl", "ioperm", "personality", "lookup_dcookie", "move_pages",
    "migrate_pages", "fanotify_init", "inotify_init", "inotify_init1",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "msgget", "semget", "shmget", "mq_open",
)  # fmt: skip
# Signals may only target the sandbox itself (argument 0 == own pid): other sandboxes run
# under the same uid and must not be able to kill each other.
SELF_ONLY_SYSCALLS: tuple[str, ...] = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")


@dataclass
class IsolationReport:
    namespaces: bool = False
    uid_dropped: bool = False
    seccomp: bool = False
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache  # dlopen once (in the zygote, before the fork), not in every run
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def unshare_namespaces(report: IsolationReport) -> None:
    """New network (only a down loopback), IPC and UTS namespaces. Needs CAP_SYS_ADMIN."""
    if os.geteuid() != 0:
        report.notes += "not root: no namespaces; "
        return
    if libc().unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0:
        err = ctypes.get_errno()
        # e.g. root inside a container without CAP_SYS_ADMIN: seccomp still blocks sockets.
        report.notes += f"unshare failed ({errno.errorcode.get(err, err)}); "
        return
    report.namespaces = True


def set_rlimits(cpu_seconds: int, memory_mb: int) -> None:
    # CPU counts the whole process, interpreter start included (~0.2 s). Soft limit -> SIGXCPU,
    # hard limit one second later -> SIGKILL, in case the program ignores SIGXCPU.
    cpu = max(1, int(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = max(64, int(memory_mb)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_privileges(report: IsolationReport) -> None:
    become_nobody(report)
    forbid_new_processes()


def become_nobody(report: IsolationReport) -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)  # as root this sets real, effective and saved uid
        if os.getuid() != NOBODY or os.geteuid() != NOBODY:
            raise RuntimeError("setuid(nobody) did not take effect")
        report.uid_dropped = True
    else:
        report.notes += "not root: uid unchanged; "
    # Not dumpable: /proc/<pid> of this process becomes root-owned, no ptrace by peers.
    libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def forbid_new_processes() -> None:
    # After the uid change (root is exempt from NPROC). Blocks fork/threads even if seccomp
    # were bypassed: the uid already owns processes, so the count is always over 0.
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
    """The deny-list as a pyseccomp.SyscallFilter, signals allowed only to `pid`."""
    import pyseccomp as seccomp  # already imported by preload_pyseccomp(), before the jail

    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # syscall unknown on this architecture
            continue
    for name in SELF_ONLY_SYSCALLS:
        flt.add_rule(deny, name, seccomp.Arg(0, seccomp.NE, pid))
    return flt


def install_seccomp(report: IsolationReport, compiled: CompiledFilter | None = None) -> None:
    if compiled is not None:  # fork mode: compiled once by the zygote
        seccomp_bpf.load(compiled.for_pid(os.getpid()), libc())
    else:
        build_seccomp_filter(os.getpid()).load()  # also sets no_new_privs: works without root
    report.seccomp = True


def precompile_seccomp() -> CompiledFilter | None:
    return seccomp_bpf.compile_filter(build_seccomp_filter)


def apply(cpu_seconds: int, memory_mb: int) -> IsolationReport:
    report = IsolationReport()
    unshare_namespaces(report)
    set_rlimits(cpu_seconds, memory_mb)
    drop_privileges(report)
    install_seccomp(report)
    return report


# What the zygote itself still needs from the deny-list: forking children, and opening files
# (a child opens /dev/null before its own filter; the zygote's crash report reads sources).
ZYGOTE_ALLOWED = frozenset({"fork", "vfork", "clone", "clone3", "open", "openat", "openat2"})


def isolate_zygote() -> IsolationReport:
    """Fork mode, once in the pre-warmed parent: everything that holds for all its children.
    Not NPROC (it must fork); a seccomp filter without the fork and open rules (defence in
    depth: it never runs user code), which its children inherit under their full filter."""
    report = IsolationReport()
    unshare_namespaces(report)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    become_nobody(report)
    return report


def install_zygote_seccomp() -> None:
    import pyseccomp as seccomp

    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        if name in ZYGOTE_ALLOWED:
            continue
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # syscall unknown on this architecture
            continue
    flt.load()


def isolate_forked_child(
    cpu_seconds: int,
    memory_mb: int,
    zygote: IsolationReport,
    compiled: CompiledFilter | None = None,
) -> IsolationReport:
    """Fork mode, per run in the freshly forked child (already in the zygote's namespaces and
    uid): limits, no new processes, seccomp (precompiled by the zygote when possible)."""
    report = IsolationReport(zygote.namespaces, zygote.uid_dropped, False, zygote.notes)
    set_rlimits(cpu_seconds, memory_mb)
    forbid_new_processes()
    install_seccomp(report, compiled)
    return report
