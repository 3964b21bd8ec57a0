"""Keeping secrets out of output: display hints, an opaque secret holder, log filters."""

from __future__ import annotations

import hmac
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import unquote_plus

__all__ = [
    "HINT_PREFIX",
    "HINT_UNSET_TEXT",
    "MASK",
    "MIN_HINT_LENGTH",
    "MIN_MASK_LENGTH",
    "QueryStringRedactor",
    "Secret",
    "SecretMaskingFilter",
    "hint",
    "redact_query_secrets",
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


# A query parameter whose name (decoded, any case) contains one of these carries a credential:
# session_token, token, access_token, api_key, apikey, secret, password, signature, auth, ...
_SECRET_PARAM = re.compile(r"token|key|secret|passw|pwd|auth|signature|credential|session", re.I)
_QUERY_PARAM = re.compile(r"([?&;])([^=&;?#\s\"']+)=([^&;#\s\"']*)")
QUERY_MASK = "[redacted]"


def redact_query_secrets(text: str) -> str:
    """`text` with the value of every credential-like query parameter replaced by [redacted]
    (`?session_token=abc&page=2` -> `?session_token=[redacted]&page=2`); percent-encoded names
    (`%74oken`) are decoded before they are judged."""
    if "=" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(3) and _SECRET_PARAM.search(unquote_plus(m.group(2))):
            return f"{m.group(1)}{m.group(2)}={QUERY_MASK}"
        return m.group(0)

    return _QUERY_PARAM.sub(repl, text)


class QueryStringRedactor(logging.Filter):
    """Redacts credential-like query parameters in every part of a record: message, arguments
    (each one, keeping the argument tuple's shape: uvicorn's access formatter unpacks it),
    exception and stack text. Attach it to handlers, like SecretMaskingFilter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redacted_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_query_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_query_secrets(record.stack_info)
        return True


def _redacted_arg(value: Any) -> Any:
    if isinstance(value, (int, float)) or value is None:
        return value  # numbers stay numbers (%d, status codes)
    text = value if isinstance(value, str) else str(value)
    redacted = redact_query_secrets(text)
    return value if redacted == text else redacted
