"""Non-blocking pipe I/O on the event loop (fork mode: the pipes of a run in the zygote)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

_READ_CHUNK = 64 * 1024


async def _wait_fd(fd: int, writable: bool) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if writable else (
        loop.add_reader, loop.remove_reader)  # fmt: skip

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    add(fd, wake)
    try:
        await ready
    finally:
        remove(fd)


async def write_all(fd: int, data: bytes) -> None:
    """Write everything to the pipe (the caller closes it). A reader that went away early is
    not an error: its exit status tells the story."""
    try:
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                await _wait_fd(fd, writable=True)
    except (BrokenPipeError, ConnectionResetError):
        pass


async def read_capped(
    fd: int, cap: int, on_overflow: Callable[[], None] | None
) -> tuple[bytes, bool]:
    """Read until EOF, keeping at most `cap` bytes. With `on_overflow`, call it and stop at the
    cap (stdout: the run has failed anyway); without, keep draining so the child never blocks."""
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    size = 0
    overflow = False
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            await _wait_fd(fd, writable=False)
            continue
        if not chunk:
            break
        if size + len(chunk) > cap:
            overflow = True
            chunks.append(chunk[: max(0, cap - size)])
            size = cap
            if on_overflow is not None:
                on_overflow()
                break
            continue
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), overflow
