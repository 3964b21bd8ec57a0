"""Master keys: wrapping, loading from env / file / generated default, safe errors."""

from __future__ import annotations

import base64
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest

from vault import (
    KeyWrapper,
    LocalKeyWrapper,
    MasterKey,
    MasterKeyError,
    SecretError,
    UnknownMasterKeyError,
    WrappedKey,
    load_master_keys,
    open_secret,
    seal,
)
from vault.keys import default_key_path

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _text(key: MasterKey) -> str:
    return key.to_text()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ------------------------------------------------------------------------- MasterKey


def test_key_id_is_fingerprint() -> None:
    import hashlib

    raw = bytes(range(32))
    key = MasterKey.from_bytes(raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()[:8]
    assert key.key == raw
    assert MasterKey.from_text(key.to_text()) == key


def test_text_forms_accepted() -> None:
    raw = bytes([0xFB, 0xFF] * 16)  # exercises the - and _ (or + and /) characters
    key = MasterKey.from_bytes(raw)
    std = base64.b64encode(raw).decode()
    assert "+" in std or "/" in std
    assert MasterKey.from_text(std) == key  # standard alphabet, padded
    assert MasterKey.from_text(_b64(raw)) == key  # base64url, unpadded
    assert MasterKey.from_text(base64.urlsafe_b64encode(raw).decode()) == key  # padded
    assert MasterKey.from_text(f"  {_b64(raw)}\n") == key


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_key_size_rejected(size: int) -> None:
    with pytest.raises(MasterKeyError):
        MasterKey.from_bytes(b"k" * size)
    with pytest.raises(MasterKeyError):
        MasterKey("abcd", b"k" * size)


def test_repr_never_shows_key_bytes() -> None:
    key = MasterKey.generate()
    other = MasterKey.generate()
    wrapper = LocalKeyWrapper(key, [other])
    for text in (repr(key), str(key), repr(wrapper), str(wrapper), f"{key}", f"{wrapper!r}"):
        assert key.to_text() not in text
        assert other.to_text() not in text
        assert key.key.hex() not in text
        assert repr(key.key) not in text
    assert repr(key) == f"MasterKey(key_id={key.key_id!r})"
    assert repr(wrapper) == (f"LocalKeyWrapper(primary={key.key_id!r}, older=[{other.key_id!r}])")


def test_keys_and_wrapper_refuse_pickling() -> None:
    key = MasterKey.generate()
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        pickle.dumps(LocalKeyWrapper(key))


# --------------------------------------------------------------------- LocalKeyWrapper


def test_local_wrapper_satisfies_protocol() -> None:
    assert isinstance(LocalKeyWrapper(MasterKey.generate()), KeyWrapper)


def test_wrap_unwrap_binds_aad_and_key_id() -> None:
    a, b = MasterKey.generate(), MasterKey.generate()
    wrapper = LocalKeyWrapper(a, [b])
    dek = os.urandom(32)
    wrapped = wrapper.wrap(dek, b"ctx")
    assert wrapped.key_id == a.key_id and len(wrapped.nonce) == 12
    assert dek not in wrapped.ciphertext
    assert wrapper.unwrap(wrapped, b"ctx") == dek
    with pytest.raises(SecretError):
        wrapper.unwrap(wrapped, b"other")
    with pytest.raises(SecretError):
        wrapper.unwrap(WrappedKey(b.key_id, wrapped.nonce, wrapped.ciphertext), b"ctx")
    with pytest.raises(UnknownMasterKeyError):
        wrapper.unwrap(WrappedKey("00000000", wrapped.nonce, wrapped.ciphertext), b"ctx")
    assert wrapper.key_ids == (a.key_id, b.key_id)


def test_duplicate_keys_rejected() -> None:
    a = MasterKey.generate()
    with pytest.raises(MasterKeyError):
        LocalKeyWrapper(a, [MasterKey.from_bytes(a.key)])


class _FakeKms:
    """A stand-in KMS: proves envelope code depends only on the KeyWrapper protocol."""

    def __init__(self) -> None:
        self.inner = LocalKeyWrapper(MasterKey("kms-key-1", os.urandom(32)))
        self.calls: list[str] = []

    @property
    def primary_id(self) -> str:
        return self.inner.primary_id

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        self.calls.append("wrap")
        return self.inner.wrap(dek, aad)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        self.calls.append("unwrap")
        return self.inner.unwrap(wrapped, aad)


def test_pluggable_wrapper() -> None:
    kms = _FakeKms()
    assert isinstance(kms, KeyWrapper)
    sealed = seal(kms, "llm-key-abcdefghijkl", 3, "llm_key")
    assert sealed.key_id == "kms-key-1"
    assert open_secret(kms, sealed, 3, "llm_key") == "llm-key-abcdefghijkl"
    assert kms.calls == ["wrap", "unwrap"]


# ------------------------------------------------------------------------------ loading


def test_env_single_key(tmp_path: Path) -> None:
    key = MasterKey.generate()
    wrapper, created = load_master_keys(key.to_text(), None, tmp_path)
    assert created is False
    assert wrapper.primary_id == key.key_id
    assert wrapper.key_ids == (key.key_id,)
    assert not default_key_path(tmp_path).exists()


def test_env_multiple_keys_primary_first(tmp_path: Path) -> None:
    new, old, older = (MasterKey.generate() for _ in range(3))
    value = f"{new.to_text()}, {old.to_text()} ,{older.to_text()},"
    wrapper, created = load_master_keys(value, None, tmp_path)
    assert not created
    assert wrapper.key_ids == (new.key_id, old.key_id, older.key_id)
    sealed = seal(LocalKeyWrapper(older), "exchange-secret-xyz1", 1, "f")
    assert open_secret(wrapper, sealed, 1, "f") == "exchange-secret-xyz1"


def test_env_wins_over_file(tmp_path: Path) -> None:
    env_key, file_key = MasterKey.generate(), MasterKey.generate()
    key_file = tmp_path / "keys"
    key_file.write_text(file_key.to_text())
    key_file.chmod(0o600)
    wrapper, _ = load_master_keys(env_key.to_text(), key_file, tmp_path)
    assert wrapper.key_ids == (env_key.key_id,)


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_blank_env_counts_as_unset(tmp_path: Path, blank: str) -> None:
    wrapper, created = load_master_keys(blank, None, tmp_path)
    assert created


@pytest.mark.parametrize(
    "bad",
    [
        "this-is-not-a-key-but-looks-secret-ish-0123456789",  # wrong length
        "c2hvcnQ",  # valid base64, 5 bytes
        "A" * 42 + "!",  # bad character
        "A" * 44,  # 33 bytes
        "é" * 43,
        ",",
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE,QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE",
    ],
)
def test_malformed_env_value_error_never_echoes_it(tmp_path: Path, bad: str) -> None:
    with pytest.raises(MasterKeyError) as err:
        load_master_keys(bad, None, tmp_path)
    message = str(err.value)
    assert "HYPERORU_MASTER_KEY" in message
    for part in bad.split(","):
        if part.strip():
            assert part.strip() not in message
    # no chained exception (e.g. a binascii error) that could carry the input along
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__
    assert not default_key_path(tmp_path).exists()


def test_malformed_second_env_entry_is_located(tmp_path: Path) -> None:
    good = MasterKey.generate().to_text()
    with pytest.raises(MasterKeyError, match="entry 2"):
        load_master_keys(f"{good},{good[:-3]}", None, tmp_path)


@posix_only
def test_key_file_multiple_keys_with_comments(tmp_path: Path) -> None:
    new, old = MasterKey.generate(), MasterKey.generate()
    key_file = tmp_path / "master-keys"
    key_file.write_text(f"# rotated 2025-01\n{new.to_text()}\n\n  # old\n{old.to_text()}\n")
    key_file.chmod(0o600)
    wrapper, created = load_master_keys(None, key_file, tmp_path / "data")
    assert not created
    assert wrapper.key_ids == (new.key_id, old.key_id)


def test_key_file_missing_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_master_keys(None, tmp_path / "nope", tmp_path)
    assert not default_key_path(tmp_path).exists()


@posix_only
def test_key_file_bad_line_error_is_located_and_safe(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    secretish = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4"
    key_file.write_text(f"{MasterKey.generate().to_text()}\n{secretish}\n")
    key_file.chmod(0o600)
    with pytest.raises(MasterKeyError, match="line 2") as err:
        load_master_keys(None, key_file, tmp_path)
    assert secretish not in str(err.value)


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o400])
def test_key_file_readable_by_others_is_warned(
    tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    key = MasterKey.generate()
    key_file = tmp_path / "keys"
    key_file.write_text(key.to_text())
    key_file.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="hyperoru.vault"):
        wrapper, _ = load_master_keys(None, key_file, tmp_path)
    assert wrapper.primary_id == key.key_id
    warned = [r for r in caplog.records if "readable by group or others" in r.getMessage()]
    assert bool(warned) == bool(mode & 0o044)
    assert key.to_text() not in caplog.text


@posix_only
@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_key_file_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    key = MasterKey.generate()
    key_file = tmp_path / "keys"
    key_file.write_text(key.to_text())
    key_file.chmod(mode)
    with pytest.raises(MasterKeyError, match="writable by group or others") as err:
        load_master_keys(None, key_file, tmp_path)
    assert key.to_text() not in str(err.value)


@posix_only
def test_generated_on_first_run_then_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    old_umask = os.umask(0)  # even a permissive umask must not loosen the file
    try:
        wrapper, created = load_master_keys(None, None, data_dir)
    finally:
        os.umask(old_umask)
    path = default_key_path(data_dir)
    assert created is True
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "back this file up" in path.read_text().lower()
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temp files left

    again, created_again = load_master_keys(None, None, data_dir)
    assert created_again is False
    assert again.primary_id == wrapper.primary_id
    sealed = seal(wrapper, "hyperliquid-agent-key-0x1234", 9, "private_key")
    assert open_secret(again, sealed, 9, "private_key") == "hyperliquid-agent-key-0x1234"


@posix_only
def test_env_key_while_generated_key_unlisted_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    generated, _ = load_master_keys(None, None, tmp_path)
    other = MasterKey.generate()
    with caplog.at_level(logging.WARNING, logger="hyperoru.vault"):
        load_master_keys(other.to_text(), None, tmp_path)
    assert generated.primary_id in caplog.text and "not in the configured keys" in caplog.text
    caplog.clear()
    gen_text = default_key_path(tmp_path).read_text().splitlines()[-1]
    with caplog.at_level(logging.WARNING, logger="hyperoru.vault"):
        load_master_keys(f"{other.to_text()},{gen_text}", None, tmp_path)
    assert "not in the configured keys" not in caplog.text
