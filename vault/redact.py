"""Keeping secrets out of output: display hints, an opaque secret holder, a log filter."""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, NoReturn

__all__ = [
    "HINT_PREFIX",
    "HINT_UNSET_TEXT",
    "MASK",
    "MIN_HINT_LENGTH",
    "MIN_MASK_LENGTH",
    "Secret",
    "SecretMaskingFilter",
    "hint",
]

HINT_PREFIX = "\u2026"  # "…"
HINT_UNSET_TEXT = "set"
# Secrets shorter than this get the hint "set": showing 4 of, say, 8 characters gives away
# half the secret.
MIN_HINT_LENGTH = 12
MASK = "**********"
# The log filter ignores shorter values: masking e.g. "abc" everywhere would wreck the logs
# and the value is guessable anyway.
MIN_MASK_LENGTH = 8


def hint(secret: str) -> str:
    """A display hint: ``"…abcd"`` (last 4 characters), or ``"set"`` for short secrets."""
    if len(secret) < MIN_HINT_LENGTH:
        return HINT_UNSET_TEXT
    return HINT_PREFIX + secret[-4:]


class Secret:
    """Holds a secret string; ``repr``, ``str`` and ``format`` never show it.

    Read it with :meth:`reveal` (alias ``get_secret_value``, as pydantic's ``SecretStr``)
    at the point of use. It refuses pickling/serialisation so it cannot slip into a
    Temporal payload; ``copy``/``deepcopy`` return the same object.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    get_secret_value = reveal

    @property
    def hint(self) -> str:
        return hint(self._value)

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret values cannot be pickled or serialised")

    def __getstate__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled or serialised")


class SecretMaskingFilter(logging.Filter):
    """Replaces every registered secret value in a log record with ``[REDACTED]``.

    Masks the formatted message, the exception text and the stack text. Attach it to
    **handlers** (``handler.addFilter(f)``): a filter on a logger only sees records logged
    on that very logger, not ones propagated from child loggers. Register each secret when
    it is decrypted (:meth:`register`) and drop it when done (:meth:`unregister`).
    Values shorter than ``MIN_MASK_LENGTH`` are not registered.
    """

    REPLACEMENT = "[REDACTED]"

    def __init__(self, secrets: Iterable[str | Secret] = (), name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}
        self._pattern: re.Pattern[str] | None = None
        for value in secrets:
            self.register(value)

    def register(self, secret: str | Secret) -> bool:
        """Start masking ``secret``; False if it is too short to mask. Reference counted."""
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) < MIN_MASK_LENGTH:
            return False
        with self._lock:
            self._values[value] = self._values.get(value, 0) + 1
            self._rebuild()
        return True

    def unregister(self, secret: str | Secret) -> None:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        with self._lock:
            count = self._values.get(value)
            if count is None:
                return
            if count > 1:
                self._values[value] = count - 1
            else:
                del self._values[value]
                self._rebuild()

    def _rebuild(self) -> None:
        if not self._values:
            self._pattern = None
            return
        # Longest first so a secret containing another is masked whole.
        alternatives = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def mask(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(self.REPLACEMENT, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # let logging report its own formatting error later
            return True
        masked = self.mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True

    def __repr__(self) -> str:
        return f"<SecretMaskingFilter masking {len(self._values)} value(s)>"
