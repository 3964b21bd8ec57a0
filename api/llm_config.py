"""Applying a trader's LLM settings: provider presets, base URL, and the sealed API key."""

from __future__ import annotations

from typing import Any

from adapters.llm.egress import base_url_problem
from adapters.llm.providers import ProviderConfigError, get_preset, resolve_base_url
from api.errors import ApiError
from db.models import Account
from vault import KeyWrapper, hint, seal

LLM_FIELDS = ("llm_provider", "llm_model", "llm_api_key", "llm_base_url")
KEY_FIELD = "llm_api_key"


def _is_preset_default(acct: Account) -> bool:
    try:
        return get_preset(acct.llm_provider or "").base_url == acct.llm_base_url
    except ProviderConfigError:
        return False


async def apply_llm_settings(
    acct: Account, changes: dict[str, Any], wrapper: KeyWrapper, allow_private_hosts: bool
) -> None:
    """Validate and store LLM fields; the account must already have its id (the key's AAD).
    Everything is checked before anything is changed."""
    if not any(f in changes for f in LLM_FIELDS):
        return
    provider = changes.get("llm_provider", acct.llm_provider)
    base_url = changes.get("llm_base_url", acct.llm_base_url)
    if "llm_base_url" not in changes and base_url and _is_preset_default(acct):
        base_url = None  # a new provider brings its own URL, unless one was set explicitly
    if provider is None and (base_url or changes.get("llm_model") or changes.get(KEY_FIELD)):
        provider = "custom" if base_url else "openai"
    if provider is not None:
        try:
            preset = get_preset(provider)
            resolved = resolve_base_url(provider, base_url)
        except ProviderConfigError as err:
            raise ApiError(422, "INVALID_LLM_CONFIG", str(err)) from err
        problem = (
            None
            if preset.name == "offline"
            else await base_url_problem(resolved, allow_private_hosts)
        )
        if problem:
            where = "" if base_url else f" (the {preset.name} provider's base URL {resolved})"
            raise ApiError(422, "LLM_HOST_NOT_ALLOWED", f"llm_base_url{where}: {problem}")
        acct.llm_provider = provider.strip().lower()
        acct.llm_base_url = resolved
    if changes.get("llm_model"):
        acct.llm_model = changes["llm_model"].strip()
    elif acct.llm_provider == "offline" and not acct.llm_model:
        acct.llm_model = "offline"  # nothing to choose: the stand-in is one fixed rule
    if KEY_FIELD in changes:
        key = changes[KEY_FIELD]
        if key:
            acct.llm_api_key_sealed = seal(wrapper, key, acct.id, KEY_FIELD).to_json()
            acct.llm_api_key_hint = hint(key)
        else:  # null or "": the stored key is removed
            acct.llm_api_key_sealed = acct.llm_api_key_hint = None
