"""LLM provider presets (all spoken to through the OpenAI-compatible chat completions API) and a
small price table for cost estimates.

JSON mode (`response_format={"type": "json_object"}`) is sent only where the endpoint honours it:
OpenAI, Gemini's OpenAI-compatible endpoint, DeepSeek and Ollama do; Anthropic's OpenAI SDK
compatibility layer ignores `response_format`, so it is not sent there; for `custom` endpoints it
is unknown, so it is off unless the trader turns it on. The output contract in every prompt asks
for JSON either way, and domain.llm_output parses prose-wrapped JSON too.

Prices are list prices in USD per 1M tokens (input, output) for standard, non-cached, non-batch
requests, reviewed 2025-10; providers change them, so treat estimates as approximate. A model
not in the table has no estimate (None); models served by the `ollama` preset cost 0, and so does
the `offline` stand-in (adapters.llm.offline: not a model, answered inside the worker; its base
URL is fixed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from adapters.llm.offline import OFFLINE_BASE_URL


@dataclass(frozen=True)
class ProviderPreset:
    name: str
    base_url: str | None  # None: the trader must supply one (custom)
    supports_json_mode: bool
    requires_api_key: bool


PRESETS: dict[str, ProviderPreset] = {
    p.name: p
    for p in (
        ProviderPreset("openai", "https://api.openai.com/v1", True, True),
        ProviderPreset("anthropic", "https://api.anthropic.com/v1", False, True),
        ProviderPreset(
            "gemini", "https://generativelanguage.googleapis.com/v1beta/openai", True, True
        ),
        ProviderPreset("deepseek", "https://api.deepseek.com/v1", True, True),
        ProviderPreset("ollama", "http://localhost:11434/v1", True, False),
        ProviderPreset("offline", OFFLINE_BASE_URL, True, False),
        ProviderPreset("custom", None, False, False),
    )
}


class ProviderConfigError(ValueError):
    """A provider/base URL combination that cannot be used (message is user-facing)."""


def get_preset(provider: str) -> ProviderPreset:
    preset = PRESETS.get((provider or "").strip().lower())
    if preset is None:
        raise ProviderConfigError(f"unknown LLM provider {provider!r}; known: {', '.join(PRESETS)}")
    return preset


def validate_base_url(url: str) -> str:
    """An http(s) URL with a host and no credentials, query or fragment; trailing '/' removed."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderConfigError("the LLM base URL must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ProviderConfigError(
            "the LLM base URL must not contain credentials; put the key in the API key field"
        )
    if parts.query or parts.fragment:
        raise ProviderConfigError("the LLM base URL must not contain a query or fragment")
    return text.rstrip("/")


def resolve_base_url(provider: str, base_url: str | None = None) -> str:
    """The base URL to call: `base_url` when given (any preset may be overridden, e.g. Ollama on
    another host), else the preset's; `custom` requires one."""
    preset = get_preset(provider)
    if preset.name == "offline" and base_url and base_url.strip().rstrip("/") != OFFLINE_BASE_URL:
        raise ProviderConfigError(
            "the offline stand-in runs inside the worker: it takes no base URL"
        )
    if base_url and base_url.strip():
        return validate_base_url(base_url)
    if preset.base_url is None:
        raise ProviderConfigError(f"the {preset.name!r} provider needs a base URL")
    return preset.base_url


def supports_json_mode(provider: str) -> bool:
    return get_preset(provider).supports_json_mode


def host_of(base_url: str) -> str:
    """host[:port] of a URL, never its credentials (safe for messages)."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


@dataclass(frozen=True)
class ModelPrice:
    input_per_m: Decimal
    output_per_m: Decimal


def _p(i: str, o: str) -> ModelPrice:
    return ModelPrice(Decimal(i), Decimal(o))


PRICES: dict[str, ModelPrice] = {
    # OpenAI
    "gpt-4o": _p("2.50", "10.00"),
    "gpt-4o-mini": _p("0.15", "0.60"),
    "gpt-4.1": _p("2.00", "8.00"),
    "gpt-4.1-mini": _p("0.40", "1.60"),
    "gpt-4.1-nano": _p("0.10", "0.40"),
    "gpt-5": _p("1.25", "10.00"),
    "gpt-5-mini": _p("0.25", "2.00"),
    "gpt-5-nano": _p("0.05", "0.40"),
    "o3": _p("2.00", "8.00"),
    "o3-mini": _p("1.10", "4.40"),
    "o4-mini": _p("1.10", "4.40"),
    # Anthropic
    "claude-opus-4-1": _p("15.00", "75.00"),
    "claude-opus-4": _p("15.00", "75.00"),
    "claude-sonnet-4-5": _p("3.00", "15.00"),
    "claude-sonnet-4": _p("3.00", "15.00"),
    "claude-3-7-sonnet": _p("3.00", "15.00"),
    "claude-haiku-4-5": _p("1.00", "5.00"),
    "claude-3-5-haiku": _p("0.80", "4.00"),
    # Google (Gemini 2.5 Pro: prompts up to 200k tokens)
    "gemini-2.5-pro": _p("1.25", "10.00"),
    "gemini-2.5-flash": _p("0.30", "2.50"),
    "gemini-2.5-flash-lite": _p("0.10", "0.40"),
    "gemini-2.0-flash": _p("0.10", "0.40"),
    # DeepSeek (cache-miss input price)
    "deepseek-chat": _p("0.28", "0.42"),
    "deepseek-reasoner": _p("0.28", "0.42"),
}

# a dated snapshot or alias of a listed model: gpt-4o-2024-08-06, claude-3-5-haiku-20241022,
# claude-3-7-sonnet-latest
_VERSION_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def normalized_model(model: str) -> str:
    """The model's name without a routing prefix ("models/", "openai/"), lower case."""
    return (model or "").strip().lower().rsplit("/", 1)[-1]


def undated_model(model: str) -> str:
    """normalized_model without a date/"latest" suffix (gpt-4o-2024-08-06 -> gpt-4o)."""
    return _VERSION_SUFFIX.sub("", normalized_model(model))


def price_for(model: str) -> ModelPrice | None:
    """Exact name, else the name without a routing prefix ("models/", "openai/") and without a
    date/"latest" suffix. Other variants (o3-pro, gpt-4o-audio-preview) are unknown on purpose."""
    name = normalized_model(model)
    if name in PRICES:
        return PRICES[name]
    return PRICES.get(_VERSION_SUFFIX.sub("", name))


def estimate_cost_usd(
    model: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    provider: str | None = None,
) -> Decimal | None:
    """Estimated USD cost of one call, or None (unknown model or missing token counts)."""
    if provider is not None and provider.strip().lower() in ("ollama", "offline"):
        return Decimal(0)
    price = price_for(model)
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    cost = (price.input_per_m * prompt_tokens + price.output_per_m * completion_tokens) / Decimal(
        1_000_000
    )
    return cost.quantize(Decimal("0.000001"))
