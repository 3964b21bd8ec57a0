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


class CappedBuffer:
    """Keeps at most `cap` bytes of what is read. With `on_overflow`, passing the cap calls it
    and asks the reader to stop (stdout: the run has failed anyway); without, the reader keeps
    draining (and dropping) so the child never blocks on a full pipe."""

    def __init__(self, cap: int, on_overflow: Callable[[], None] | None) -> None:
        self.cap, self.on_overflow = cap, on_overflow
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False

    def add(self, chunk: bytes) -> bool:
        """Keep what fits of `chunk`; True when reading should stop."""
        if self.size + len(chunk) <= self.cap:
            self.chunks.append(chunk)
            self.size += len(chunk)
            return False
        self.overflow = True
        self.chunks.append(chunk[: max(0, self.cap - self.size)])
        self.size = self.cap
        if self.on_overflow is None:
            return False
        self.on_overflow()
        return True

    def result(self) -> tuple[bytes, bool]:
        return b"".join(self.chunks), self.overflow


async def read_capped(
    fd: int, cap: int, on_overflow: Callable[[], None] | None
) -> tuple[bytes, bool]:
    """Read until EOF (or the cap, see CappedBuffer), keeping at most `cap` bytes."""
    os.set_blocking(fd, False)
    buf = CappedBuffer(cap, on_overflow)
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            await _wait_fd(fd, writable=False)
            continue
        if not chunk or buf.add(chunk):
            break
    return buf.result()
