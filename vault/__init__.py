"""Envelope encryption for exchange and LLM keys (reliability.md §1.4, P11).

Per-secret AES-256-GCM data keys bound to ``(account_id, field)``, wrapped by master keys
from ``HYPERORU_MASTER_KEY``, a key file, or a generated ``<data_dir>/master.key``.
Decrypt only inside the activity that uses a secret; never return, log or put it in a
Temporal payload (wrap it in :class:`Secret` while it is passed around).
"""

from vault.envelope import (
    SEALED_VERSION,
    SealedSecret,
    data_aad,
    needs_rewrap,
    open_secret,
    rewrap,
    seal,
)
from vault.errors import MasterKeyError, SecretError, UnknownMasterKeyError, VaultError
from vault.keys import (
    DEFAULT_KEY_FILENAME,
    MASTER_KEY_ENV,
    KeyWrapper,
    LocalKeyWrapper,
    MasterKey,
    WrappedKey,
    default_key_path,
    load_master_keys,
    read_key_file,
    replace_key_file,
)
from vault.redact import Secret, SecretMaskingFilter, hint

__all__ = [
    "DEFAULT_KEY_FILENAME",
    "MASTER_KEY_ENV",
    "SEALED_VERSION",
    "KeyWrapper",
    "LocalKeyWrapper",
    "MasterKey",
    "MasterKeyError",
    "SealedSecret",
    "Secret",
    "SecretError",
    "SecretMaskingFilter",
    "UnknownMasterKeyError",
    "VaultError",
    "WrappedKey",
    "data_aad",
    "default_key_path",
    "hint",
    "load_master_keys",
    "read_key_file",
    "replace_key_file",
    "needs_rewrap",
    "open_secret",
    "rewrap",
    "seal",
]
