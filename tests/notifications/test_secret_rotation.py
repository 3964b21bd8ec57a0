"""Notification channels' secrets are stored secrets like exchange keys: rotating the master key
re-wraps them too (else retiring the old key would leave every webhook secret and bot token
unopenable), and a process is refused at start when it lacks the key that sealed one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from config.settings import Settings, sync_url
from db.models import NotificationChannel, User
from domain.notifications import SECRET_FIELD
from runtime.key_rotation import rotate_master_key
from runtime.secrets_check import stored_key_ids
from vault import LocalKeyWrapper, SealedSecret, open_secret, read_key_file, seal
from vault.key_loading import master_key_wrapper

SECRET = "whsec_rotate-me-0123456789"


def _plant(url: str, wrapper: object) -> int:
    engine = create_engine(sync_url(url))
    with Session(engine) as s, s.begin():
        user = User(email="u@example.com", username="u", password_hash="x")
        s.add(user)
        s.flush()
        ch = NotificationChannel(
            user_id=user.id, name="hook", kind="webhook", url="https://example.com/h",
            secret_hint="", events=["fill"],
        )  # fmt: skip
        s.add(ch)
        s.flush()
        ch.secret_sealed = seal(wrapper, SECRET, ch.id, SECRET_FIELD).to_json()  # type: ignore[arg-type]
        channel_id = ch.id
    engine.dispose()
    return channel_id


def _sealed(url: str, channel_id: int) -> str:
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        text = s.get(NotificationChannel, channel_id).secret_sealed  # type: ignore[union-attr]
    engine.dispose()
    assert text is not None
    return text


def test_rotation_rewraps_channel_secrets(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    channel_id = _plant(sqlite_url, master_key_wrapper(settings))
    assert sum(stored_key_ids(settings).values()) == 1  # counted by the start-up check

    report = rotate_master_key(settings, grace_s=0.01)

    assert report.rewrapped == 1 and report.retired
    fresh = LocalKeyWrapper(read_key_file(tmp_path / "master.key")[0])  # the old key is gone
    sealed = SealedSecret.from_json(_sealed(sqlite_url, channel_id))
    assert open_secret(fresh, sealed, channel_id, SECRET_FIELD) == SECRET
