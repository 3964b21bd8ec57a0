"""Fork mode: the seccomp filter compiled once (in the zygote) and loaded by each child.

Building the filter with libseccomp costs ~2 ms of every run (130 rules through ctypes). The
zygote compiles it once with a placeholder pid in the "signals only to yourself" rules and
exports the raw BPF program; a child patches in its own pid and loads it with two prctl calls.
`compile_filter` checks the patching against libseccomp itself (the program patched for a
second pid must equal the one libseccomp builds for that pid); if it does not match (another
libseccomp, another architecture) it returns None and the children build the filter themselves.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Never real pids: the kernel caps pid_max at 2**22.
PID_PLACEHOLDER = 0x3FFF_FFF0
_CHECK_PID = 0x3FFF_FFE0
_INSN = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@dataclass(frozen=True)
class CompiledFilter:
    program: bytes
    pid_slots: tuple[int, ...]  # byte offsets of the placeholder's k fields

    def for_pid(self, pid: int) -> bytes:
        program = bytearray(self.program)
        for offset in self.pid_slots:
            struct.pack_into("=I", program, offset, pid)
        return bytes(program)


def compile_filter(build: Callable[[int], Any]) -> CompiledFilter | None:
    """`build(pid)` returns a pyseccomp.SyscallFilter allowing signals only to `pid`."""
    program = export(build(PID_PLACEHOLDER))
    if not program or len(program) % _INSN.size:
        return None
    slots = tuple(
        offset + 4
        for offset in range(0, len(program), _INSN.size)
        if _INSN.unpack_from(program, offset)[0] == _JEQ_K
        and _INSN.unpack_from(program, offset)[3] == PID_PLACEHOLDER
    )
    compiled = CompiledFilter(program, slots)
    if not slots or compiled.for_pid(_CHECK_PID) != export(build(_CHECK_PID)):
        return None
    return compiled


def export(flt: Any) -> bytes:
    read_fd, write_fd = os.pipe()
    try:

        class _Fd:
            def fileno(self) -> int:
                return write_fd

        flt.export_bpf(_Fd())  # a few KB: fits the pipe buffer
        os.close(write_fd)
        write_fd = -1
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    return b"".join(chunks)


def load(program: bytes, libc: ctypes.CDLL) -> None:
    """Install a raw BPF program as this process's seccomp filter (with no_new_privs)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // _INSN.size, ctypes.addressof(buffer))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
