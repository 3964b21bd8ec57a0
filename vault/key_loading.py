"""Loading the master key that wraps every stored secret, once per process.

When the keys come from a file, the wrapper notices the file changing (a rotation by
`python -m cli rotate-master-key`) and reloads it: running workers and APIs pick up the new
primary key without a restart, so a rotation needs no downtime.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from vault import LocalKeyWrapper, WrappedKey, default_key_path, load_master_keys

log = logging.getLogger("hyperoru.secrets")


class KeySettings(Protocol):
    """What key loading reads of the settings (config.settings.Settings has it): vault itself
    depends on nothing of the platform's."""

    @property
    def master_key(self) -> SecretStr | None: ...

    @property
    def master_key_file(self) -> Path | None: ...

    @property
    def data_dir(self) -> Path: ...


def key_file_path(settings: KeySettings) -> Path | None:
    """The file the keys come from, or None when HYPERORU_MASTER_KEY holds them."""
    env = settings.master_key.get_secret_value() if settings.master_key else None
    if env is not None and env.strip():
        return None
    return settings.master_key_file or default_key_path(settings.data_dir)


class ReloadingKeyWrapper:
    """A KeyWrapper over the configured keys that reloads a key file when it changes."""

    def __init__(self, settings: KeySettings) -> None:
        self._settings = settings
        self._path = key_file_path(settings)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._inner, self.created = self._load()

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except OSError:
            return self._stamp  # keep the keys we have; the next call looks again
        return (st.st_mtime_ns, st.st_ino)

    def _load(self) -> tuple[LocalKeyWrapper, bool]:
        s = self._settings
        env = s.master_key.get_secret_value() if s.master_key else None
        wrapper, created = load_master_keys(env, s.master_key_file, s.data_dir)
        self._stamp = self._file_stamp()
        return wrapper, created

    def _current(self) -> LocalKeyWrapper:
        if self._path is not None and self._file_stamp() != self._stamp:
            with self._lock:
                if self._file_stamp() != self._stamp:
                    self._inner, _ = self._load()
                    log.info("master key file changed: keys reloaded (primary %s)", self.primary_id)
        return self._inner

    @property
    def primary_id(self) -> str:
        return self._current().primary_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return self._current().key_ids

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        return self._current().wrap(dek, aad)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        return self._current().unwrap(wrapped, aad)

    def __repr__(self) -> str:
        return f"ReloadingKeyWrapper(primary={self.primary_id!r})"


def master_key_wrapper(settings: KeySettings) -> ReloadingKeyWrapper:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    wrapper = ReloadingKeyWrapper(settings)
    if wrapper.created:
        print(
            f"[hyperoru] generated a new master key at {settings.data_dir / 'master.key'}: "
            "back it up (it decrypts every stored LLM and exchange key)",
            flush=True,
        )
        log.info(
            "generated a new master key at %s: back it up; without it stored LLM and exchange "
            "keys cannot be decrypted",
            settings.data_dir / "master.key",
        )
    return wrapper
