"""Rotating the master key without downtime: `python -m cli rotate-master-key`.

1. A new key becomes the primary at the top of the key file; the old keys stay below it.
   Running workers and APIs see the file change and reload it (vault/key_loading.py), so from here
   on every new secret is wrapped by the new key and every old one still opens.
2. Every stored data key is re-wrapped under the new key (the ciphertexts do not change);
   each row is updated on its own, compare-and-set, so a concurrent edit is never overwritten.
3. When no stored secret refers to an old key any more, the old keys are removed from the file.
With HYPERORU_MASTER_KEY (keys in the environment), step 1 and 3 are the operator's: put the
new key first in the variable, restart, run with --rewrap-only, then drop the old key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, select, update

from config.settings import Settings, sync_url
from runtime.secrets_check import SEALED_COLUMNS
from vault import (
    KeyWrapper,
    LocalKeyWrapper,
    MasterKey,
    MasterKeyError,
    SealedSecret,
    load_master_keys,
    needs_rewrap,
    read_key_file,
    replace_key_file,
    rewrap,
)
from vault.key_loading import key_file_path

MAX_PASSES = 5


@dataclass
class RotationReport:
    primary_key_id: str
    old_key_ids: list[str] = field(default_factory=list)
    rewrapped: int = 0
    passes: int = 0
    stale_left: int = 0
    retired: bool = False


def _sealed_rows(engine: Engine) -> list[tuple[Any, int, str, str]]:
    """(model, row id, column, sealed text) of every stored secret."""
    rows: list[tuple[Any, int, str, str]] = []
    with engine.connect() as conn:
        for col in SEALED_COLUMNS:
            model = col.class_
            for row_id, text in conn.execute(select(model.id, col).where(col.is_not(None))):
                if text is not None:
                    rows.append((model, row_id, col.key, text))
    return rows


def stale_secrets(engine: Engine, wrapper: KeyWrapper) -> int:
    """How many stored secrets are wrapped by a key other than the primary."""
    return sum(
        1
        for _, _, _, text in _sealed_rows(engine)
        if needs_rewrap(wrapper, SealedSecret.from_json(text))
    )


def rewrap_all(engine: Engine, wrapper: KeyWrapper) -> int:
    """Re-wrap every stored data key under the primary; returns how many rows changed."""
    changed = 0
    for model, row_id, column, text in _sealed_rows(engine):
        sealed = SealedSecret.from_json(text)
        if not needs_rewrap(wrapper, sealed):
            continue
        new_text = rewrap(wrapper, sealed).to_json()
        col = getattr(model, column)
        with engine.begin() as conn:
            # Compare-and-set: a secret replaced meanwhile is left alone (the next pass sees it).
            result = conn.execute(
                update(model).where(model.id == row_id, col == text).values({column: new_text})
            )
            changed += result.rowcount
    return changed


def _rewrap_until_clean(engine: Engine, wrapper: KeyWrapper, grace_s: float) -> RotationReport:
    report = RotationReport(primary_key_id=wrapper.primary_id)
    for n in range(1, MAX_PASSES + 1):
        report.passes = n
        report.rewrapped += rewrap_all(engine, wrapper)
        report.stale_left = stale_secrets(engine, wrapper)
        if report.stale_left == 0:
            break
        time.sleep(grace_s)
    return report


def rotate_master_key(settings: Settings, grace_s: float = 2.0) -> RotationReport:
    path = key_file_path(settings)
    if path is None:
        raise MasterKeyError(
            "the master keys come from HYPERORU_MASTER_KEY: put a new key first in it (the old "
            "one after a comma), restart the processes, then run rotate-master-key --rewrap-only"
        )
    old = read_key_file(path)
    new = MasterKey.generate()
    replace_key_file(path, [new, *old])
    # Why wait: a process that looked at the file just before the swap may be sealing a
    # secret under the old key right now; the passes below catch it once it is stored.
    time.sleep(grace_s)
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        report = _rewrap_until_clean(engine, LocalKeyWrapper(new, old), grace_s)
    finally:
        engine.dispose()
    report.old_key_ids = [k.key_id for k in old]
    if report.stale_left == 0:
        replace_key_file(path, [new])
        report.retired = True
    return report


def rewrap_to_primary(settings: Settings, grace_s: float = 2.0) -> RotationReport:
    env = settings.master_key.get_secret_value() if settings.master_key else None
    wrapper, _ = load_master_keys(env, settings.master_key_file, settings.data_dir)
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        report = _rewrap_until_clean(engine, wrapper, grace_s)
    finally:
        engine.dispose()
    report.old_key_ids = [k for k in wrapper.key_ids if k != wrapper.primary_id]
    return report
