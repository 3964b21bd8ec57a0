"""Applying a trader's LLM settings: provider presets, base URL, and the sealed API key."""

from __future__ import annotations

from typing import Any

from activities.llm.providers import ProviderConfigError, get_preset, resolve_base_url
from api.errors import ApiError
from db.models import Account
from vault import KeyWrapper, hint, seal

LLM_FIELDS = ("llm_provider", "llm_model", "llm_api_key", "llm_base_url")
KEY_FIELD = "llm_api_key"


def apply_llm_settings(acct: Account, changes: dict[str, Any], wrapper: KeyWrapper) -> None:
    """Validate and store LLM fields; the account must already have its id (the key's AAD)."""
    if not any(f in changes for f in LLM_FIELDS):
        return
    provider = changes.get("llm_provider", acct.llm_provider)
    base_url = changes.get("llm_base_url", acct.llm_base_url)
    if provider is None and (base_url or changes.get("llm_model") or changes.get(KEY_FIELD)):
        provider = "custom" if base_url else "openai"
    if provider is not None:
        try:
            get_preset(provider)
            base_url = resolve_base_url(provider, base_url)
        except ProviderConfigError as err:
            raise ApiError(422, "INVALID_LLM_CONFIG", str(err)) from err
        acct.llm_provider = provider.strip().lower()
        acct.llm_base_url = base_url
    if changes.get("llm_model"):
        acct.llm_model = changes["llm_model"].strip()
    key = changes.get(KEY_FIELD)
    if key:
        acct.llm_api_key_sealed = seal(wrapper, key, acct.id, KEY_FIELD).to_json()
        acct.llm_api_key_hint = hint(key)
