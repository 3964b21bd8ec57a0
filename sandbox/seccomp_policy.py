"""The seccomp policy of a sandboxed run, and the zygote's (what its children need before theirs).

A deny-list (EPERM, so the program gets a clean Python exception) plus argument rules for every
call that can reach another process, after Chromium's baseline policy (RestrictPrlimit,
RestrictSchedTarget, RestrictGetSetpriority, RestrictFcntlCommands, RestrictPrctl): such calls
may only name the caller itself. Each rule compares one argument once (libseccomp refuses two
comparisons of one argument in one rule), so "yourself" is `0` for the calls that take it, and
the run's own pid for the signal calls (in its own PID namespace a forked run is pid 1).
"""

from __future__ import annotations

import contextlib
import errno
from typing import Any

# Syscalls a trading strategy never needs. Names missing on the running architecture are skipped.
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
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "process_madvise", "process_mrelease",
    "get_robust_list", "ioprio_set",
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
    # kernel memory outside the address-space limit: pipe buffers, memory files
    "pipe", "pipe2", "memfd_create", "memfd_secret",
)  # fmt: skip
# Signals may only target the run itself (argument 0 == its own pid).
SELF_ONLY_SYSCALLS: tuple[str, ...] = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
# Calls whose first argument names a process: only 0 (the caller) is allowed.
SELF_IS_ZERO_SYSCALLS: tuple[str, ...] = (
    "prlimit64", "sched_setaffinity", "sched_getaffinity", "sched_setscheduler",
    "sched_getscheduler", "sched_setparam", "sched_getparam", "sched_setattr",
    "sched_getattr", "sched_rr_get_interval", "setpgid",
)  # fmt: skip
PRIO_PROCESS = 0
# fcntl commands that reach other processes (a signal on I/O to an owner of one's choice: the
# kernel checks only the uid) or grow kernel memory (pipe size).
F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY, F_SETPIPE_SZ = 8, 10, 15, 1024, 1026, 1031
DENIED_FCNTL = (F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY, F_SETPIPE_SZ)
# prctl options that would undo the jail or reach other processes: the parent-death signal
# (a run must die with its zygote), dumpable, ptracer, subreaper, capabilities, mm. Options above
# 64 are refused too (PR_SET_PTRACER and the rest of that range).
DENIED_PRCTL = (1, 4, 8, 24, 28, 35, 36, 47, 57)
PRCTL_MAX_ALLOWED = 64

# What the zygote itself may still do (its children do these before their own filter): fork
# (a clone in a PID namespace of its own), open /dev/null, and take a run's identity.
# A backtest session parent (forked by the zygote, under its filter) also waits for its steps
# through a pidfd of each (sandbox/session_host.py): pidfd_open names a process, nothing more.
ZYGOTE_ALLOWED = frozenset(
    {"fork", "vfork", "clone", "clone3", "open", "openat", "openat2", "chroot"}
    | {"setresuid", "setresgid", "setgroups", "setuid", "setgid", "capset", "pidfd_open"}
)


def _add(flt: Any, action: Any, name: str, *args: Any) -> None:
    # A syscall unknown on this architecture is skipped.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        flt.add_rule(action, name, *args)


def run_filter(pid: int) -> Any:
    """The run's filter as a pyseccomp.SyscallFilter, signals allowed only to `pid`."""
    import pyseccomp as seccomp  # already imported by jail.preload_pyseccomp(), before the jail

    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        _add(flt, deny, name)
    for name in SELF_ONLY_SYSCALLS:
        flt.add_rule(deny, name, seccomp.Arg(0, seccomp.NE, pid))
    for name in SELF_IS_ZERO_SYSCALLS:
        _add(flt, deny, name, seccomp.Arg(0, seccomp.NE, 0))
    for name in ("setpriority", "getpriority", "ioprio_get"):
        if name != "ioprio_get":
            _add(flt, deny, name, seccomp.Arg(0, seccomp.NE, PRIO_PROCESS))
        _add(flt, deny, name, seccomp.Arg(1, seccomp.NE, 0))
    for name in ("fcntl", "fcntl64"):
        for cmd in DENIED_FCNTL:
            _add(flt, deny, name, seccomp.Arg(1, seccomp.EQ, cmd))
    for option in DENIED_PRCTL:
        flt.add_rule(deny, "prctl", seccomp.Arg(0, seccomp.EQ, option))
    flt.add_rule(deny, "prctl", seccomp.Arg(0, seccomp.GT, PRCTL_MAX_ALLOWED))
    return flt


def zygote_filter() -> Any:
    """The zygote's own filter: the deny-list but what ZYGOTE_ALLOWED names (defence in depth:
    it never runs user code); its children inherit it under their full filter."""
    import pyseccomp as seccomp

    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        if name not in ZYGOTE_ALLOWED:
            _add(flt, deny, name)
    return flt
