"""Exceptions raised by the vault. Their messages never contain key material or secrets."""

from __future__ import annotations


class VaultError(Exception):
    """Base class for every vault error."""


class SecretError(VaultError):
    """A sealed secret cannot be opened: wrong trader/field, tampering, or an unreadable record.

    The message is safe to log and to show to an operator; it never includes plaintext,
    key bytes or ciphertext.
    """


class UnknownMasterKeyError(SecretError):
    """The master key that wrapped a data key is not loaded (retired too early, or missing)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"master key {key_id!r} is not loaded; add it to the configured keys "
            "(as an older key) to open secrets wrapped with it"
        )
        self.key_id = key_id


class MasterKeyError(VaultError, ValueError):
    """Master-key configuration is missing, malformed or unsafe (never echoes the key)."""
