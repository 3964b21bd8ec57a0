"""Loading the master key that wraps every stored secret, once per process."""

from __future__ import annotations

import logging

from settings import Settings
from vault import LocalKeyWrapper, load_master_keys

log = logging.getLogger("hyperoru.secrets")


def master_key_wrapper(settings: Settings) -> LocalKeyWrapper:
    env = settings.master_key.get_secret_value() if settings.master_key else None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    wrapper, created = load_master_keys(env, settings.master_key_file, settings.data_dir)
    if created:
        print(
            f"[hyperoru] generated a new master key at {settings.data_dir / 'master.key'}: "
            "back it up (it decrypts every stored LLM and exchange key)",
            flush=True,
        )
        log.info(
            "generated a new master key at %s: back it up; without it stored LLM and exchange "
            "keys cannot be decrypted",
            settings.data_dir / "master.key",
        )
    return wrapper
