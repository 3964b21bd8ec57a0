"""Child side: capped capture of the program's prints, and tracebacks limited to its own code."""

from __future__ import annotations

import io
import linecache
import traceback

from sandbox.protocol import ERROR_KEEP_CHARS, LOG_KEEP_CHARS, truncate
from sandbox.validate import PROGRAM_FILENAME


class OutputTooLargeError(BaseException):
    """Raised inside print() once the program wrote more than allowed.

    A BaseException so that a program's `except Exception` does not swallow it; the sandbox also
    remembers the overflow, so catching it anyway does not help.
    """


class CappedOutput(io.TextIOBase):
    """Replacement for sys.stdout/sys.stderr: keeps the first LOG_KEEP_CHARS, counts the rest."""

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self.max_chars = max_chars
        self._parts: list[str] = []
        self._kept = 0
        self.total = 0

    @property
    def overflowed(self) -> bool:
        return self.total > self.max_chars

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:  # type: ignore[override]
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self.total += len(s)
        room = LOG_KEEP_CHARS - self._kept
        if room > 0:
            piece = s[:room]
            self._parts.append(piece)
            self._kept += len(piece)
        if self.overflowed:
            raise OutputTooLargeError(f"program printed more than {self.max_chars} characters")
        return len(s)

    def text(self) -> str:
        text = "".join(self._parts)
        dropped = self.total - self._kept
        return text + (f"\n... [truncated {dropped} chars]" if dropped > 0 else "")


def register_source(code: str) -> None:
    """Let tracebacks show the program's source lines for "<program>" frames."""
    linecache.cache[PROGRAM_FILENAME] = (len(code), None, code.splitlines(True), PROGRAM_FILENAME)


def format_program_error(exc: BaseException) -> str:
    """A traceback with only the program's frames, ending with the exception line."""
    try:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if f.filename == PROGRAM_FILENAME
        ]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(exc), exc)
        return truncate("".join(lines).rstrip(), ERROR_KEEP_CHARS)
    except BaseException:  # a hostile __str__ must not break error reporting
        return f"{_safe_name(exc)}: <exception could not be formatted>"


def _safe_name(exc: BaseException) -> str:
    try:
        return str(type(exc).__name__)
    except BaseException:
        return "Exception"
