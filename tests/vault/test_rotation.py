"""Master key rotation: one command, every data key re-wrapped, no downtime, old key retired."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from config.settings import Settings, sync_url
from db.models import Account
from runtime.key_rotation import rewrap_to_primary, rotate_master_key, stale_secrets
from vault import (
    LocalKeyWrapper,
    MasterKey,
    MasterKeyError,
    SealedSecret,
    open_secret,
    read_key_file,
    seal,
)
from vault.key_loading import master_key_wrapper

ROOT = Path(__file__).resolve().parents[2]
LLM = "llm_api_key"
EXCHANGE = "exchange_credentials"


def _settings(tmp_path: Path, url: str, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, **kw)  # type: ignore[arg-type]


def _plant(url: str, wrapper: object, n: int = 3) -> dict[int, tuple[str, str]]:
    """n traders, each with a sealed LLM key and sealed exchange credentials."""
    planted: dict[int, tuple[str, str]] = {}
    engine = create_engine(sync_url(url))
    with Session(engine) as s, s.begin():
        accts = [
            Account(
                name=f"t{i}",
                account_type="prompt",
                initial_capital=Decimal(1000),
                max_leverage=Decimal(3),
                max_position_notional_usd=Decimal(500),
                max_concurrent_positions=2,
                symbols=["BTC"],
            )
            for i in range(n)
        ]
        s.add_all(accts)
        s.flush()
        for a in accts:
            llm, creds = f"sk-rotate-{a.id}-0123456789", f'{{"api_secret": "bn-{a.id}-secret"}}'
            a.llm_api_key_sealed = seal(wrapper, llm, a.id, LLM).to_json()  # type: ignore[arg-type]
            a.exchange_credentials_sealed = seal(wrapper, creds, a.id, EXCHANGE).to_json()  # type: ignore[arg-type]
            planted[a.id] = (llm, creds)
    engine.dispose()
    return planted


def _opened(url: str, wrapper: object) -> dict[int, tuple[str, str]]:
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        out = {
            a.id: (
                open_secret(wrapper, SealedSecret.from_json(a.llm_api_key_sealed or ""), a.id, LLM),  # type: ignore[arg-type]
                open_secret(
                    wrapper,  # type: ignore[arg-type]
                    SealedSecret.from_json(a.exchange_credentials_sealed or ""),
                    a.id,
                    EXCHANGE,
                ),
            )
            for a in s.query(Account)
        }
    engine.dispose()
    return out


def _key_ids(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        ids = {
            SealedSecret.from_json(text).key_id
            for a in s.query(Account)
            for text in (a.llm_api_key_sealed, a.exchange_credentials_sealed)
            if text
        }
    engine.dispose()
    return ids


def test_rotation_rewraps_every_secret_and_retires_the_old_key(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path, database_url)
    running = master_key_wrapper(settings)  # a worker/API that was started before the rotation
    old_id = running.primary_id
    planted = _plant(database_url, running)

    report = rotate_master_key(settings, grace_s=0.01)

    assert report.rewrapped == 2 * len(planted) and report.stale_left == 0 and report.retired
    assert report.old_key_ids == [old_id] and report.primary_key_id != old_id
    keys = read_key_file(tmp_path / "master.key")
    assert [k.key_id for k in keys] == [report.primary_key_id]  # the old key is gone
    assert _key_ids(database_url) == {report.primary_key_id}
    fresh = LocalKeyWrapper(keys[0])  # a process started after the rotation
    assert _opened(database_url, fresh) == planted
    # No downtime: the process started before the rotation reloads the file by itself,
    # opens every re-wrapped secret and seals new ones under the new key.
    assert _opened(database_url, running) == planted
    assert running.primary_id == report.primary_key_id
    assert seal(running, "sk-new", 99, LLM).key_id == report.primary_key_id  # type: ignore[arg-type]


def test_a_second_rotation_after_the_first(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    planted = _plant(sqlite_url, master_key_wrapper(settings))
    first = rotate_master_key(settings, grace_s=0.01)
    second = rotate_master_key(settings, grace_s=0.01)
    assert second.old_key_ids == [first.primary_key_id] and second.retired
    assert _opened(sqlite_url, master_key_wrapper(settings)) == planted


def test_keys_from_the_environment_need_the_operator_then_rewrap_only(
    tmp_path: Path, sqlite_url: str
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    settings = _settings(tmp_path, sqlite_url, master_key=SecretStr(old.to_text()))
    planted = _plant(sqlite_url, LocalKeyWrapper(old))
    with pytest.raises(MasterKeyError, match="--rewrap-only"):
        rotate_master_key(settings, grace_s=0.01)
    both = _settings(tmp_path, sqlite_url, master_key=SecretStr(f"{new.to_text()},{old.to_text()}"))
    report = rewrap_to_primary(both, grace_s=0.01)
    assert report.rewrapped == 6 and report.stale_left == 0 and not report.retired
    assert report.old_key_ids == [old.key_id]
    assert _opened(sqlite_url, LocalKeyWrapper(new)) == planted  # the old key is not needed
    assert stale_secrets(create_engine(sync_url(sqlite_url)), LocalKeyWrapper(new)) == 0


def test_the_command_rotates_and_prints_no_key_material(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    planted = _plant(sqlite_url, master_key_wrapper(settings))
    old_text = (tmp_path / "master.key").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")} | {
        "HYPERORU_DATA_DIR": str(tmp_path),
        "HYPERORU_DATABASE_URL": sqlite_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "rotate-master-key", "--grace-seconds", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "6 secret(s) re-wrapped" in done.stdout and "removed from the key file" in done.stdout
    new_key = read_key_file(tmp_path / "master.key")[0]
    for material in [
        new_key.to_text(),
        *(ln for ln in old_text.splitlines() if ln and ln[0] != "#"),
    ]:
        assert material not in done.stdout + done.stderr
    assert _opened(sqlite_url, LocalKeyWrapper(new_key)) == planted
