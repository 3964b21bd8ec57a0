"""Envelope encryption: round trip, AAD binding, tamper detection, rotation."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from vault import (
    LocalKeyWrapper,
    MasterKey,
    SealedSecret,
    SecretError,
    UnknownMasterKeyError,
    needs_rewrap,
    open_secret,
    rewrap,
    seal,
)

SECRET = "sk-live-0123456789abcdefWXYZ"


@pytest.fixture
def key_a() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def key_b() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def wrapper(key_a: MasterKey) -> LocalKeyWrapper:
    return LocalKeyWrapper(key_a, [])


def test_round_trip(wrapper: LocalKeyWrapper, key_a: MasterKey) -> None:
    sealed = seal(wrapper, SECRET, 7, "api_secret")
    assert sealed.key_id == key_a.key_id
    assert sealed.hint == "\u2026WXYZ"
    assert SECRET.encode() not in sealed.ciphertext
    assert open_secret(wrapper, sealed, 7, "api_secret") == SECRET


def test_json_round_trip_is_compact_and_secret_free(wrapper: LocalKeyWrapper) -> None:
    sealed = seal(wrapper, SECRET, 7, "api_secret")
    text = sealed.to_json()
    assert " " not in text and "\n" not in text
    assert SECRET not in text and SECRET[:-4] not in text
    assert set(json.loads(text)) == {"v", "kid", "wn", "wk", "n", "ct", "h"}
    again = SealedSecret.from_json(text)
    assert again == sealed
    assert open_secret(wrapper, again, 7, "api_secret") == SECRET


def test_each_seal_uses_a_fresh_data_key_and_nonce(wrapper: LocalKeyWrapper) -> None:
    one, two = (seal(wrapper, SECRET, 1, "f") for _ in range(2))
    assert one.wrapped_dek != two.wrapped_dek
    assert one.nonce != two.nonce
    assert one.ciphertext != two.ciphertext


def test_unicode_and_randomised_round_trips(wrapper: LocalKeyWrapper) -> None:
    # hypothesis is not installed; a seeded random sweep covers the same ground.
    rng = random.Random(1234)
    alphabet = "abcXYZ0189-_+/=:|\u00e9\u2603\U0001f511 \t\n\x00"
    for i in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
        account = rng.randint(-(2**63), 2**63)
        field = rng.choice(["api_key", "api_secret", "llm_key", "a:b", "\u00fc"])
        sealed = SealedSecret.from_json(seal(wrapper, text, account, field).to_json())
        assert open_secret(wrapper, sealed, account, field) == text, i


@pytest.mark.parametrize(
    ("account", "field"),
    [(8, "api_secret"), (7, "llm_key"), (70, "api_secret"), (7, "api_secret2")],
)
def test_ciphertext_bound_to_account_and_field(
    wrapper: LocalKeyWrapper, account: int, field: str
) -> None:
    sealed = seal(wrapper, SECRET, 7, "api_secret")
    with pytest.raises(SecretError) as err:
        open_secret(wrapper, sealed, account, field)
    assert SECRET not in str(err.value)


def test_ambiguous_aad_does_not_collide(wrapper: LocalKeyWrapper) -> None:
    # "1:2" + ":x" vs "1" + ":2:x" cannot happen: account ids are ints.
    sealed = seal(wrapper, SECRET, 1, "2:x")
    with pytest.raises(SecretError):
        open_secret(wrapper, sealed, 12, "x")
    with pytest.raises(TypeError):
        open_secret(wrapper, sealed, "1", "2:x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        seal(wrapper, SECRET, True, "f")  # type: ignore[arg-type]


def test_copying_data_key_between_records_fails(wrapper: LocalKeyWrapper) -> None:
    mine = seal(wrapper, SECRET, 1, "api_secret")
    theirs = seal(wrapper, "other-secret-value-1234", 2, "api_secret")
    frankenstein = dataclasses.replace(
        theirs, wrapped_dek=mine.wrapped_dek, dek_nonce=mine.dek_nonce
    )
    with pytest.raises(SecretError):
        open_secret(wrapper, frankenstein, 2, "api_secret")


def _flip(data: bytes, index: int = 0) -> bytes:
    b = bytearray(data)
    b[index] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: dataclasses.replace(s, wrapped_dek=_flip(s.wrapped_dek)), id="dek"),
        pytest.param(
            lambda s: dataclasses.replace(s, wrapped_dek=_flip(s.wrapped_dek, -1)), id="dek-tag"
        ),
        pytest.param(lambda s: dataclasses.replace(s, dek_nonce=_flip(s.dek_nonce)), id="wn"),
        pytest.param(lambda s: dataclasses.replace(s, nonce=_flip(s.nonce)), id="nonce"),
        pytest.param(lambda s: dataclasses.replace(s, ciphertext=_flip(s.ciphertext)), id="ct"),
        pytest.param(
            lambda s: dataclasses.replace(s, ciphertext=_flip(s.ciphertext, -1)), id="ct-tag"
        ),
        pytest.param(
            lambda s: dataclasses.replace(s, ciphertext=s.ciphertext[:-1]), id="ct-truncated"
        ),
        pytest.param(lambda s: dataclasses.replace(s, nonce=s.nonce[:-1]), id="nonce-short"),
        pytest.param(lambda s: dataclasses.replace(s, dek_nonce=b""), id="wn-empty"),
        pytest.param(lambda s: dataclasses.replace(s, key_id="deadbeef"), id="key-id"),
        pytest.param(lambda s: dataclasses.replace(s, version=2), id="version"),
        pytest.param(lambda s: dataclasses.replace(s, hint="\u2026ABCD"), id="hint"),
    ],
)
def test_tampering_any_component_is_detected(wrapper: LocalKeyWrapper, tamper) -> None:
    sealed = seal(wrapper, SECRET, 7, "api_secret")
    with pytest.raises(SecretError) as err:
        open_secret(wrapper, tamper(sealed), 7, "api_secret")
    assert SECRET not in str(err.value)


def test_key_id_swapped_to_another_loaded_key_fails(key_a: MasterKey, key_b: MasterKey) -> None:
    both = LocalKeyWrapper(key_a, [key_b])
    sealed = seal(both, SECRET, 7, "f")
    with pytest.raises(SecretError):
        open_secret(both, dataclasses.replace(sealed, key_id=key_b.key_id), 7, "f")


def test_hint_downgrade_to_set_is_accepted(wrapper: LocalKeyWrapper) -> None:
    sealed = dataclasses.replace(seal(wrapper, SECRET, 7, "f"), hint="set")
    assert open_secret(wrapper, sealed, 7, "f") == SECRET


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"v":1}',
        '{"v":"1","kid":"a","wn":"","wk":"","n":"","ct":"","h":""}',
        '{"v":1,"kid":"","wn":"","wk":"","n":"","ct":"","h":""}',
        '{"v":1,"kid":"a","wn":"!!","wk":"","n":"","ct":"","h":""}',
        '{"v":1,"kid":"a","wn":"","wk":"","n":"","ct":"","h":5}',
        '{"v":1,"kid":"a","wn":1,"wk":"","n":"","ct":"","h":""}',
    ],
)
def test_malformed_json_raises_secret_error(text: str) -> None:
    with pytest.raises(SecretError):
        SealedSecret.from_json(text)


def test_empty_secret_refused(wrapper: LocalKeyWrapper) -> None:
    with pytest.raises(ValueError):
        seal(wrapper, "", 1, "f")


def test_sealed_repr_is_short(wrapper: LocalKeyWrapper) -> None:
    sealed = seal(wrapper, SECRET, 7, "f")
    assert repr(sealed) == (f"SealedSecret(version=1, key_id={sealed.key_id!r}, hint='\u2026WXYZ')")


# ----------------------------------------------------------------------------- rotation


def test_rotation_end_to_end(key_a: MasterKey, key_b: MasterKey) -> None:
    only_a = LocalKeyWrapper(key_a)
    sealed = seal(only_a, SECRET, 7, "api_secret")
    assert sealed.key_id == key_a.key_id

    rotating = LocalKeyWrapper(key_b, [key_a])
    assert rotating.primary_id == key_b.key_id
    assert needs_rewrap(rotating, sealed)
    # Both keys readable during rotation.
    assert open_secret(rotating, sealed, 7, "api_secret") == SECRET
    new_seal = seal(rotating, "fresh-secret-during-rotation", 7, "llm_key")
    assert new_seal.key_id == key_b.key_id

    rotated = rewrap(rotating, sealed)
    assert rotated.key_id == key_b.key_id
    assert not needs_rewrap(rotating, rotated)
    # Only the wrapped DEK changed.
    assert rotated.ciphertext == sealed.ciphertext
    assert rotated.nonce == sealed.nonce
    assert rotated.hint == sealed.hint
    assert rotated.wrapped_dek != sealed.wrapped_dek
    assert open_secret(rotating, rotated, 7, "api_secret") == SECRET
    # Rewrap survives storage.
    rotated = SealedSecret.from_json(rotated.to_json())

    only_b = LocalKeyWrapper(key_b)
    assert open_secret(only_b, rotated, 7, "api_secret") == SECRET
    with pytest.raises(UnknownMasterKeyError) as err:
        open_secret(LocalKeyWrapper(key_a), rotated, 7, "api_secret")
    assert err.value.key_id == key_b.key_id
    # An un-rotated record cannot be opened once A is retired.
    with pytest.raises(UnknownMasterKeyError):
        open_secret(only_b, sealed, 7, "api_secret")
    with pytest.raises(UnknownMasterKeyError):
        rewrap(only_b, sealed)


def test_rewrap_is_noop_when_primary(wrapper: LocalKeyWrapper) -> None:
    sealed = seal(wrapper, SECRET, 7, "f")
    assert not needs_rewrap(wrapper, sealed)
    assert rewrap(wrapper, sealed) is sealed


def test_rewrap_detects_tampered_dek(key_a: MasterKey, key_b: MasterKey) -> None:
    sealed = seal(LocalKeyWrapper(key_a), SECRET, 7, "f")
    bad = dataclasses.replace(sealed, wrapped_dek=_flip(sealed.wrapped_dek))
    with pytest.raises(SecretError):
        rewrap(LocalKeyWrapper(key_b, [key_a]), bad)
