"""Provider presets, base URL rules and cost estimates (adapters.llm.providers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.llm.providers import (
    PRESETS,
    ProviderConfigError,
    estimate_cost_usd,
    get_preset,
    host_of,
    price_for,
    resolve_base_url,
    supports_json_mode,
)


def test_preset_urls() -> None:
    assert {name: p.base_url for name, p in PRESETS.items()} == {
        "openai": "https://api.openai.com/v1",
        "anthropic": "https://api.anthropic.com/v1",
        "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
        "deepseek": "https://api.deepseek.com/v1",
        "ollama": "http://localhost:11434/v1",
        "offline": "http://offline.hyperoru.invalid/v1",  # answered in process, never resolved
        "custom": None,
    }


def test_json_mode_support() -> None:
    assert {n for n in PRESETS if supports_json_mode(n)} == {
        "openai",
        "gemini",
        "deepseek",
        "ollama",
        "offline",
    }
    assert not supports_json_mode("anthropic") and not supports_json_mode("custom")


def test_resolve_base_url() -> None:
    assert resolve_base_url("OpenAI") == "https://api.openai.com/v1"
    assert resolve_base_url("ollama", "http://gpu-box:11434/v1/") == "http://gpu-box:11434/v1"
    assert resolve_base_url("custom", "https://llm.example.com/v1") == "https://llm.example.com/v1"
    with pytest.raises(ProviderConfigError, match="needs a base URL"):
        resolve_base_url("custom")
    with pytest.raises(ProviderConfigError, match="unknown LLM provider"):
        get_preset("openrouter")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://example.com/v1", "http:// or https://"),
        ("example.com/v1", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("https://user:secret@example.com/v1", "must not contain credentials"),
        ("https://example.com/v1?key=abc", "query or fragment"),
    ],
)
def test_bad_base_urls(url: str, fragment: str) -> None:
    with pytest.raises(ProviderConfigError, match=fragment):
        resolve_base_url("custom", url)


def test_host_of_never_shows_credentials() -> None:
    assert host_of("https://user:pw@example.com:8443/v1") == "example.com:8443"
    assert host_of("https://api.openai.com/v1") == "api.openai.com"


def test_prices() -> None:
    assert price_for("gpt-4o-mini") == price_for("gpt-4o-mini-2024-07-18")
    assert price_for("gpt-4o") != price_for("gpt-4o-mini")
    assert price_for("claude-3-5-haiku-20241022") == price_for("claude-3-5-haiku")
    assert price_for("claude-3-7-sonnet-latest") is not None
    assert price_for("models/gemini-2.5-flash") == price_for("gemini-2.5-flash")
    assert price_for("o3-pro") is None  # a different product, not an o3 snapshot
    assert price_for("llama3.1:8b") is None


def test_estimate_cost() -> None:
    # gpt-4o-mini: 0.15 in / 0.60 out per 1M tokens
    assert estimate_cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == Decimal("0.75")
    assert estimate_cost_usd("gpt-4o", 1000, 500) == Decimal("0.0075")
    assert estimate_cost_usd("some-new-model", 1000, 500) is None
    assert estimate_cost_usd("gpt-4o", None, 500) is None
    assert estimate_cost_usd("llama3.1:8b", 1000, 500, provider="ollama") == Decimal(0)
