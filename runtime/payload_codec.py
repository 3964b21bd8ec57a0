"""Encrypting what Temporal stores: workflow inputs, activity results, signals (prompts,
reasoning, trigger contexts) when HYPERORU_PAYLOAD_ENCRYPTION_KEY is set.

AES-256-GCM per payload, fresh nonce, the key id in the payload's metadata so several keys can
be listed for rotation (the first encrypts, all decrypt). The Temporal server, its database,
the Web UI and `temporal workflow show` then see only ciphertext; workers and the API hold
the key. Secrets never enter payloads in the first place: this protects decision content.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from vault import MasterKey, MasterKeyError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_AAD = b"hyperoru:payload:v1:"
_NONCE = 12


class PayloadDecryptionError(ValueError):
    pass


def parse_keys(value: str) -> list[MasterKey]:
    keys = [
        MasterKey.from_text(part, source=f"HYPERORU_PAYLOAD_ENCRYPTION_KEY entry {i}")
        for i, part in enumerate(value.split(","), start=1)
        if part.strip()
    ]
    if not keys:
        raise MasterKeyError("HYPERORU_PAYLOAD_ENCRYPTION_KEY holds no key")
    return keys


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise MasterKeyError("the payload codec needs at least one key")
        self._primary = keys[0]
        self._keys = {k.key_id: k for k in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        key_id = self._primary.key_id
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._primary.key).encrypt(
            nonce, payload.SerializeToString(), _AAD + key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was turned on
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        key = self._keys.get(key_id)
        if key is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r}, which is not configured"
            )
        try:
            plain = AESGCM(key.key).decrypt(
                payload.data[:_NONCE], payload.data[_NONCE:], _AAD + key_id.encode()
            )
        except InvalidTag:
            raise PayloadDecryptionError(f"payload does not verify under key {key_id!r}") from None
        return Payload.FromString(plain)


def with_codec(converter: DataConverter, keys_text: str | None) -> DataConverter:
    if not keys_text or not keys_text.strip():
        return converter
    return dataclasses.replace(converter, payload_codec=EncryptionCodec(parse_keys(keys_text)))
