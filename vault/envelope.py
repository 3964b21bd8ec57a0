"""Envelope encryption of one secret (an exchange API secret, an LLM key, a wallet key).

Each secret gets a fresh 256-bit data key (DEK). The secret is encrypted with AES-256-GCM
under the DEK with associated data ``hyperoru:v1:{account_id}:{field}``, so a ciphertext
copied to another trader or another field does not decrypt. The DEK is wrapped by the
primary master key of a :class:`~vault.keys.KeyWrapper`. Rotation re-wraps only the DEK
(:func:`rewrap`); the data ciphertext is never touched.

The stored form, :meth:`SealedSecret.to_json`, is a compact JSON object::

    {"v":1,"kid":"<master key id>","wn":"<b64 wrap nonce>","wk":"<b64 wrapped DEK>",
     "n":"<b64 data nonce>","ct":"<b64 ciphertext+tag>","h":"…abcd"}

``h`` (the display hint) is stored in clear and checked against the plaintext on open, so
editing the shown characters is detected as tampering (replacing it with ``"set"``, which
shows less, is accepted).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import SecretError
from vault.keys import KEY_BYTES, NONCE_BYTES, KeyWrapper, WrappedKey
from vault.redact import HINT_PREFIX, HINT_UNSET_TEXT
from vault.redact import hint as make_hint

__all__ = [
    "SEALED_VERSION",
    "SealedSecret",
    "data_aad",
    "needs_rewrap",
    "open_secret",
    "rewrap",
    "seal",
]

SEALED_VERSION = 1
# The wrapped DEK is bound to the envelope format, not to the account: the account binding
# is carried by the data AAD (a DEK moved to another row cannot decrypt that row's data),
# and this lets rewrap() run over stored rows without knowing whom they belong to.
_DEK_AAD = b"hyperoru:v1:dek"
_MAX_HINT_CHARS = 16
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: object, name: str) -> bytes:
    if not isinstance(text, str):
        raise SecretError(f"sealed secret field {name!r} is not a string")
    if not _B64URL_RE.fullmatch(text):
        raise SecretError(f"sealed secret field {name!r} is not valid base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SecretError(f"sealed secret field {name!r} is not valid base64url") from None


def data_aad(account_id: int, field: str) -> bytes:
    """The associated data binding a ciphertext to its trader/account and field."""
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise TypeError("account_id must be an int")
    if not isinstance(field, str) or not field:
        raise TypeError("field must be a non-empty str")
    return f"hyperoru:v1:{account_id}:{field}".encode()


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """An encrypted secret plus its wrapped data key. Contains nothing secret."""

    version: int
    key_id: str  # id of the master key that wrapped the DEK
    wrapped_dek: bytes
    dek_nonce: bytes
    nonce: bytes  # data nonce
    ciphertext: bytes  # AES-GCM ciphertext with its 16-byte tag
    hint: str  # "…abcd" or "set" — for display only

    @property
    def wrapped(self) -> WrappedKey:
        return WrappedKey(key_id=self.key_id, nonce=self.dek_nonce, ciphertext=self.wrapped_dek)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": self.version,
                "kid": self.key_id,
                "wn": _b64e(self.dek_nonce),
                "wk": _b64e(self.wrapped_dek),
                "n": _b64e(self.nonce),
                "ct": _b64e(self.ciphertext),
                "h": self.hint,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SealedSecret:
        """Parse :meth:`to_json` output; raises :class:`SecretError` if malformed."""
        try:
            obj: Any = json.loads(text)
        except (ValueError, TypeError):
            raise SecretError("sealed secret is not valid JSON") from None
        if not isinstance(obj, dict):
            raise SecretError("sealed secret is not a JSON object")
        missing = {"v", "kid", "wn", "wk", "n", "ct", "h"} - obj.keys()
        if missing:
            raise SecretError(f"sealed secret lacks field(s) {sorted(missing)}")
        version, key_id, hint = obj["v"], obj["kid"], obj["h"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise SecretError("sealed secret version is not an integer")
        if not isinstance(key_id, str) or not key_id:
            raise SecretError("sealed secret key id is not a non-empty string")
        if not isinstance(hint, str) or len(hint) > _MAX_HINT_CHARS:
            raise SecretError("sealed secret hint is malformed")
        return cls(
            version=version,
            key_id=key_id,
            wrapped_dek=_b64d(obj["wk"], "wk"),
            dek_nonce=_b64d(obj["wn"], "wn"),
            nonce=_b64d(obj["n"], "n"),
            ciphertext=_b64d(obj["ct"], "ct"),
            hint=hint,
        )

    def __repr__(self) -> str:
        return f"SealedSecret(version={self.version}, key_id={self.key_id!r}, hint={self.hint!r})"


def seal(wrapper: KeyWrapper, plaintext: str, account_id: int, field: str) -> SealedSecret:
    """Encrypt ``plaintext`` for ``(account_id, field)`` under a fresh data key."""
    if not isinstance(plaintext, str):
        raise TypeError("plaintext must be a str")
    if not plaintext:
        raise ValueError("refusing to seal an empty secret (store no secret instead)")
    aad = data_aad(account_id, field)
    dek = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext.encode("utf-8"), aad)
    wrapped = wrapper.wrap(dek, _DEK_AAD)
    return SealedSecret(
        version=SEALED_VERSION,
        key_id=wrapped.key_id,
        wrapped_dek=wrapped.ciphertext,
        dek_nonce=wrapped.nonce,
        nonce=nonce,
        ciphertext=ciphertext,
        hint=make_hint(plaintext),
    )


def _unwrap_dek(wrapper: KeyWrapper, sealed: SealedSecret) -> bytes:
    if sealed.version != SEALED_VERSION:
        raise SecretError(f"unsupported sealed secret version {sealed.version!r}")
    dek = wrapper.unwrap(sealed.wrapped, _DEK_AAD)
    if len(dek) != KEY_BYTES:
        raise SecretError("unwrapped data key has the wrong length")
    return dek


def open_secret(wrapper: KeyWrapper, sealed: SealedSecret, account_id: int, field: str) -> str:
    """Decrypt a sealed secret. Use the result where it is needed; never return or log it.

    Raises :class:`SecretError` (with a message safe to log) if the secret belongs to another
    account or field, was tampered with, or was wrapped by a master key that is not loaded
    (:class:`~vault.errors.UnknownMasterKeyError`).
    """
    aad = data_aad(account_id, field)
    dek = _unwrap_dek(wrapper, sealed)
    if len(sealed.nonce) != NONCE_BYTES:
        raise SecretError("sealed secret is malformed (bad nonce length)")
    try:
        raw = AESGCM(dek).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag:
        raise SecretError(
            f"secret does not decrypt for account {account_id} field {field!r} "
            "(it belongs to another account/field, or was tampered with)"
        ) from None
    try:
        plaintext = raw.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - authenticated, so only a buggy writer
        raise SecretError("secret is not valid UTF-8") from None
    if not _hint_consistent(sealed.hint, plaintext):
        raise SecretError("sealed secret hint does not match its contents (tampered)")
    return plaintext


def _hint_consistent(stored: str, plaintext: str) -> bool:
    # Accept either hint form so a future change of the "too short to hint" threshold does
    # not make old records unreadable; what matters is that the shown characters are real.
    if stored == HINT_UNSET_TEXT:
        return True
    return hmac.compare_digest(stored.encode(), (HINT_PREFIX + plaintext[-4:]).encode())


def needs_rewrap(wrapper: KeyWrapper, sealed: SealedSecret) -> bool:
    """True if the data key is wrapped by a master key other than the wrapper's primary."""
    return sealed.key_id != wrapper.primary_id


def rewrap(wrapper: KeyWrapper, sealed: SealedSecret) -> SealedSecret:
    """Re-wrap the data key under the primary master key; the ciphertext is unchanged.

    Returns ``sealed`` itself if it is already wrapped by the primary key. Raises
    :class:`SecretError` if the data key cannot be unwrapped.
    """
    if not needs_rewrap(wrapper, sealed):
        return sealed
    dek = _unwrap_dek(wrapper, sealed)
    wrapped = wrapper.wrap(dek, _DEK_AAD)
    return dataclasses.replace(
        sealed, key_id=wrapped.key_id, wrapped_dek=wrapped.ciphertext, dek_nonce=wrapped.nonce
    )
