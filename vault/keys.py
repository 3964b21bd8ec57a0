"""Master keys (key-encryption keys) and the wrappers that use them to wrap data keys.

A *master key* never encrypts a secret directly: it only wraps the per-secret data keys
(DEKs) made by :mod:`vault.envelope`. ``LocalKeyWrapper`` wraps with AES-256-GCM under the
primary master key and unwraps with whichever loaded key wrapped the DEK, so rotation is:
load ``[new, old]``, re-wrap every stored DEK (:func:`vault.envelope.rewrap`), then drop
``old``. A KMS can stand in for ``LocalKeyWrapper`` by implementing :class:`KeyWrapper`.

Key configuration (see :func:`load_master_keys`), first match wins:

1. ``HYPERORU_MASTER_KEY`` — base64url 32-byte keys, comma separated, primary first.
2. A key file — the same keys, one per line, primary first (``#`` comments allowed).
3. ``<data_dir>/master.key`` — loaded if present, otherwise generated on first run
   (mode 0600) and reported with ``created=True``.

Key-file permissions (POSIX): a key file writable by group or others is **refused** (someone
else could substitute a key they know); one readable by group or others is **accepted with a
warning** on the ``hyperoru.vault`` logger, because secret mounts (Docker, Kubernetes) are
often 0644 and read-only. A generated key file is always created 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import MasterKeyError, SecretError, UnknownMasterKeyError

__all__ = [
    "DEFAULT_KEY_FILENAME",
    "KEY_BYTES",
    "MASTER_KEY_ENV",
    "KeyWrapper",
    "LocalKeyWrapper",
    "MasterKey",
    "WrappedKey",
    "default_key_path",
    "load_master_keys",
]

log = logging.getLogger("hyperoru.vault")

MASTER_KEY_ENV = "HYPERORU_MASTER_KEY"
DEFAULT_KEY_FILENAME = "master.key"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID_HEX = 8
_WRAP_AAD_PREFIX = b"hyperoru:kek:v1:"
# 32 bytes are 43 base64 characters (+ one "=" of padding); allow only that alphabet so a
# stray character is an error instead of being silently dropped by the decoder.
_B64_RE = re.compile(r"[A-Za-z0-9_\-+/]{43}=?")
_FILE_HEADER = (
    "# hyperoru master key (base64url, 32 bytes). BACK THIS FILE UP: without it the stored\n"
    "# exchange and LLM keys cannot be decrypted. To rotate, put a new key on the first line\n"
    "# and keep this one below it until every secret has been re-wrapped.\n"
)


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:_KEY_ID_HEX]


class MasterKey:
    """A 32-byte key-encryption key with a short, non-secret ``key_id``.

    ``key_id`` defaults to the first 8 hex digits of SHA-256(key). ``repr``/``str`` show only
    the id, and the object refuses to be pickled, so key bytes do not leak into logs or
    payloads by accident. Read the bytes with ``.key``.
    """

    __slots__ = ("_key", "_key_id")

    def __init__(self, key_id: str, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
            raise MasterKeyError(f"a master key must be exactly {KEY_BYTES} bytes")
        if not isinstance(key_id, str) or not key_id or ":" in key_id:
            raise MasterKeyError("a master key id must be a non-empty string without ':'")
        self._key = bytes(key)
        self._key_id = key_id

    @classmethod
    def from_bytes(cls, key: bytes) -> MasterKey:
        """Wrap raw key bytes, deriving ``key_id`` from the key's fingerprint."""
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
            raise MasterKeyError(f"a master key must be exactly {KEY_BYTES} bytes")
        return cls(_fingerprint(bytes(key)), bytes(key))

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_bytes(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str, *, source: str = "master key") -> MasterKey:
        """Parse base64url (standard base64 and missing padding are accepted).

        Errors name ``source`` but never include ``text``.
        """
        value = text.strip()
        if not value:
            raise MasterKeyError(f"{source} is empty")
        if not _B64_RE.fullmatch(value):
            raise MasterKeyError(
                f"{source} is not a base64url-encoded {KEY_BYTES}-byte key "
                f"(expected 43 characters of A-Z a-z 0-9 - _, got {len(value)} characters)"
            )
        normalised = value.replace("+", "-").replace("/", "_").rstrip("=")
        try:
            raw = base64.urlsafe_b64decode(normalised + "=")
        except (binascii.Error, ValueError):
            raise MasterKeyError(f"{source} is not valid base64url") from None
        if len(raw) != KEY_BYTES:  # pragma: no cover - guarded by the regex
            raise MasterKeyError(f"{source} decodes to {len(raw)} bytes, expected {KEY_BYTES}")
        return cls.from_bytes(raw)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def key(self) -> bytes:
        return self._key

    def to_text(self) -> str:
        """The base64url form used by ``HYPERORU_MASTER_KEY`` and key files."""
        return base64.urlsafe_b64encode(self._key).decode("ascii").rstrip("=")

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self._key_id!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return self._key_id == other._key_id and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self._key_id)

    def __reduce__(self) -> NoReturn:
        raise TypeError("MasterKey cannot be pickled or serialised")


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key wrapped by master key ``key_id``. Not secret: safe to store next to data."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@runtime_checkable
class KeyWrapper(Protocol):
    """Wraps data keys under a primary master key; unwraps under any loaded one (KMS hook).

    ``aad`` must be passed unchanged to ``unwrap``; implementations raise
    :class:`~vault.errors.SecretError` (or :class:`~vault.errors.UnknownMasterKeyError`)
    when a key cannot be unwrapped, with a message free of key material.
    """

    @property
    def primary_id(self) -> str: ...

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...


class LocalKeyWrapper:
    """AES-256-GCM key wrapping with locally held master keys.

    Wraps under ``primary``; unwraps under ``primary`` or any of ``older``. Each wrap uses a
    fresh random 12-byte nonce and the AAD ``b"hyperoru:kek:v1:" + key_id + b":" + aad``.
    """

    __slots__ = ("_keys", "_primary")

    def __init__(self, primary: MasterKey, older: list[MasterKey] | None = None) -> None:
        keys: dict[str, MasterKey] = {}
        for position, key in enumerate([primary, *(older or [])], start=1):
            if not isinstance(key, MasterKey):
                raise MasterKeyError("LocalKeyWrapper takes MasterKey objects")
            if key.key_id in keys:
                raise MasterKeyError(
                    f"master key {position} has the same id {key.key_id!r} as an earlier key "
                    "(listed twice?)"
                )
            keys[key.key_id] = key
        self._primary = primary
        self._keys = keys

    @property
    def primary_id(self) -> str:
        return self._primary.key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every loaded key, primary first."""
        return tuple(self._keys)

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self._primary.key).encrypt(
            nonce, bytes(dek), self._wrap_aad(self._primary.key_id, aad)
        )
        return WrappedKey(key_id=self._primary.key_id, nonce=nonce, ciphertext=ciphertext)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        key = self._keys.get(wrapped.key_id)
        if key is None:
            raise UnknownMasterKeyError(wrapped.key_id)
        if len(wrapped.nonce) != NONCE_BYTES:
            raise SecretError("wrapped data key is malformed (bad nonce length)")
        try:
            return AESGCM(key.key).decrypt(
                wrapped.nonce, wrapped.ciphertext, self._wrap_aad(key.key_id, aad)
            )
        except InvalidTag:
            raise SecretError(
                f"wrapped data key does not verify under master key {key.key_id!r} "
                "(tampered or corrupted)"
            ) from None

    @staticmethod
    def _wrap_aad(key_id: str, aad: bytes) -> bytes:
        return _WRAP_AAD_PREFIX + key_id.encode("utf-8") + b":" + bytes(aad)

    def __repr__(self) -> str:
        older = list(self._keys)[1:]
        return f"LocalKeyWrapper(primary={self.primary_id!r}, older={older!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("LocalKeyWrapper cannot be pickled or serialised")


# --------------------------------------------------------------------------- loading


def default_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / DEFAULT_KEY_FILENAME


def _parse_keys(entries: list[tuple[str, str]], source: str) -> list[MasterKey]:
    """entries: (label, text) pairs; label identifies the entry in errors."""
    if not entries:
        raise MasterKeyError(f"{source} contains no keys")
    keys = [MasterKey.from_text(text, source=f"{source} {label}") for label, text in entries]
    seen: dict[str, str] = {}
    for (label, _), key in zip(entries, keys, strict=True):
        if key.key_id in seen:
            raise MasterKeyError(
                f"{source} {label} repeats the key in {seen[key.key_id]} (id {key.key_id!r})"
            )
        seen[key.key_id] = label
    return keys


def _parse_env(value: str) -> list[MasterKey]:
    parts = value.split(",")
    entries = [(f"entry {i}", p) for i, p in enumerate(parts, start=1) if p.strip()]
    return _parse_keys(entries, MASTER_KEY_ENV)


def _check_permissions(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise MasterKeyError(
            f"master key file {path} is writable by group or others (mode {mode:04o}); "
            f"refusing to use it — run: chmod 600 {path}"
        )
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "master key file %s is readable by group or others (mode %04o); run: chmod 600 %s",
            path,
            mode,
            path,
        )


def _read_key_file(path: Path) -> list[MasterKey]:
    source = f"master key file {path}"
    if not path.exists():
        raise MasterKeyError(f"{source} does not exist")
    if not path.is_file():
        raise MasterKeyError(f"{source} is not a regular file")
    _check_permissions(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"{source} cannot be read ({type(exc).__name__})") from None
    entries = [
        (f"line {n}", line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return _parse_keys(entries, source)


def _write_new_key_file(path: Path, key: MasterKey) -> bool:
    """Create ``path`` (0600) holding ``key`` unless it already exists. True if we wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    content = (_FILE_HEADER + key.to_text() + "\n").encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() never replaces an existing file, so two processes starting at once cannot
        # overwrite each other's key, and a reader never sees a half-written file.
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # pragma: no cover - filesystems without hard links
            try:
                fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            try:
                os.write(fd2, content)
                os.fsync(fd2)
            finally:
                os.close(fd2)
    finally:
        tmp.unlink(missing_ok=True)
    if hasattr(os, "O_DIRECTORY"):
        try:
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # pragma: no cover
            return True
        try:
            os.fsync(dfd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(dfd)
    return True


def _warn_if_default_key_unused(data_dir: Path, keys: list[MasterKey]) -> None:
    """A generated key left in the data dir but not configured usually means lost secrets."""
    path = default_key_path(data_dir)
    if not path.is_file():
        return
    try:
        default = _read_key_file(path)
    except (MasterKeyError, OSError):
        return
    loaded = {k.key_id for k in keys}
    missing = [k.key_id for k in default if k.key_id not in loaded]
    if missing:
        log.warning(
            "%s holds master key(s) %s that are not in the configured keys; secrets sealed "
            "with them cannot be opened — list them as older keys until re-wrapped",
            path,
            ", ".join(missing),
        )


def load_master_keys(
    env_value: str | None, file_path: Path | None, data_dir: Path
) -> tuple[LocalKeyWrapper, bool]:
    """Load the master keys; returns ``(wrapper, created)``.

    Precedence: ``env_value`` (the value of ``HYPERORU_MASTER_KEY``; empty/blank counts as
    unset), then ``file_path`` (must exist), then ``<data_dir>/master.key``, which is
    generated (mode 0600) if absent — then ``created`` is True and the caller should tell
    the operator to back it up. In every source the first key is the primary (used to wrap)
    and the rest are older keys (only used to unwrap during rotation).

    Raises :class:`~vault.errors.MasterKeyError` for malformed, duplicate or unsafe keys;
    messages name the source and entry but never contain key material.
    """
    data_dir = Path(data_dir)
    created = False
    if env_value is not None and env_value.strip():
        keys = _parse_env(env_value)
        _warn_if_default_key_unused(data_dir, keys)
    elif file_path is not None:
        keys = _read_key_file(Path(file_path))
        if Path(file_path).resolve() != default_key_path(data_dir).resolve():
            _warn_if_default_key_unused(data_dir, keys)
    else:
        path = default_key_path(data_dir)
        if not path.exists():
            created = _write_new_key_file(path, MasterKey.generate())
        keys = _read_key_file(path)
    return LocalKeyWrapper(keys[0], keys[1:]), created


def replace_key_file(path: Path, keys: list[MasterKey]) -> None:
    """Atomically replace ``path`` (0600) with ``keys``, the first being the primary.

    Readers see the old file or the new one, never a mix: the new content is written and
    fsynced to a temporary file in the same directory, then renamed over ``path``.
    """
    if not keys:
        raise MasterKeyError("a key file needs at least one key")
    path = Path(path)
    content = (_FILE_HEADER + "".join(k.to_text() + "\n" for k in keys)).encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_key_file(path: Path) -> list[MasterKey]:
    """The keys in a key file, primary first (validated like at start-up)."""
    return _read_key_file(Path(path))
