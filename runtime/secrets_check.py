"""At start, every process checks that its master key opens the secrets already stored.

Why: a process holding a different key than the one that sealed the stored LLM and exchange keys
(a data dir that is not shared, a container recreated without its key) would otherwise start
fine and put every trader that needs a secret in Error, one by one. Refusing to start, with one
line naming the key that is missing, turns that into a configuration error seen at deploy time.
The check compares key ids: an id is a fingerprint of the key itself (vault.keys), so a loaded id
is the right key.
"""

from __future__ import annotations

from collections import Counter
from typing import NoReturn

from sqlalchemy import create_engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings, config_exit, sync_url
from db.models import Account, NotificationChannel
from vault import MasterKeyError, SealedSecret, SecretError
from vault.key_loading import ReloadingKeyWrapper, key_file_path, master_key_wrapper

# Every sealed column, each of a table whose key is `id` (`col.class_`: its table's model).
SEALED_COLUMNS = (
    Account.llm_api_key_sealed,
    Account.exchange_credentials_sealed,
    NotificationChannel.secret_sealed,
)
DROP_COMMAND = "python -m cli drop-unreadable-secrets"


def _key_id(text: str | None) -> str | None:
    try:
        return SealedSecret.from_json(text).key_id if text else None
    except SecretError:
        return None


def stored_key_ids(settings: Settings) -> Counter[str]:
    """How many stored secrets each master key id has wrapped (malformed records are skipped:
    they fail on their own, at use, for their trader only)."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    counts: Counter[str] = Counter()
    try:
        with engine.connect() as conn:
            for col in SEALED_COLUMNS:
                for (text,) in conn.execute(select(col).where(col.is_not(None))):
                    kid = _key_id(text)
                    if kid is not None:
                        counts[kid] += 1
    finally:
        engine.dispose()
    return counts


def unreadable(settings: Settings, wrapper: ReloadingKeyWrapper) -> Counter[str]:
    """Stored secrets per master key id that `wrapper` does not hold."""
    loaded = set(wrapper.key_ids)
    return Counter({kid: n for kid, n in stored_key_ids(settings).items() if kid not in loaded})


def key_source(settings: Settings) -> str:
    path = key_file_path(settings)
    return "HYPERORU_MASTER_KEY" if path is None else str(path)


def _refuse(prefix: str, missing: Counter[str], have: str) -> NoReturn:
    config_exit(
        f"{prefix} {sum(missing.values())} stored secret(s) were sealed with master key(s) "
        f"{', '.join(sorted(missing))}, which this process does not have ({have}). Every "
        "process must use the same key: restore it from its backup (README, Production), or, "
        f"if it is lost, run `{DROP_COMMAND}` and enter those traders' keys again."
    )


def require_openable_secrets(settings: Settings, process: str) -> ReloadingKeyWrapper:
    """Load the master key; exit with one line if it is unusable or cannot open stored secrets."""
    prefix = f"hyperoru {process}: refusing to start:"
    try:
        stored = stored_key_ids(settings)
    except SQLAlchemyError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"{prefix} cannot read the stored secrets from the database: {first}"
        raise SystemExit(msg) from None
    path = key_file_path(settings)
    if stored and path is not None and not path.exists():
        # Not generated: a new key could open none of them, and would only be in the way when
        # the right one is restored.
        _refuse(prefix, stored, f"there is no key at {path}")
    try:
        wrapper = master_key_wrapper(settings)
    except (MasterKeyError, OSError) as err:
        config_exit(f"{prefix} master key: {err}")
    loaded = set(wrapper.key_ids)
    missing = Counter({kid: n for kid, n in stored.items() if kid not in loaded})
    if missing:
        have = f"it loaded {', '.join(wrapper.key_ids)} from {key_source(settings)}"
        _refuse(prefix, missing, have)
    return wrapper


def drop_unreadable(settings: Settings, wrapper: ReloadingKeyWrapper) -> Counter[str]:
    """Forget every stored secret sealed with a key `wrapper` lacks (the key is lost for good).

    Each row is cleared compare-and-set, so a secret entered again meanwhile is kept. Returns
    how many were cleared per key id.
    """
    loaded = set(wrapper.key_ids)
    dropped: Counter[str] = Counter()
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        for col in SEALED_COLUMNS:
            with engine.begin() as conn:
                model = col.class_
                rows = conn.execute(select(model.id, col).where(col.is_not(None))).all()
                for row_id, text in rows:
                    kid = _key_id(text)
                    if kid is None or kid in loaded:
                        continue
                    done = conn.execute(
                        update(model).where(model.id == row_id, col == text).values({col.key: None})
                    )
                    dropped[kid] += done.rowcount
    finally:
        engine.dispose()
    return dropped
