"""Where a trader's LLM base URL may lead (adapters.llm.egress), checked on every connection.

The base URL is chosen by any registered user, so without these rules a trader could make the
worker fetch cloud metadata (credentials) or probe services on the worker's own network.
"""

from __future__ import annotations

import unicodedata

import pytest

from adapters.llm.client import LLMCallConfig, LLMError, LLMErrorCode, complete
from adapters.llm.egress import (
    ALLOW_PRIVATE_SETTING,
    HostNotAllowed,
    address_problem,
    base_url_problem,
)
from adapters.llm.transport import guarded_http_client
from tests.emulators.openai_server import Fail, OpenAIEmulator, Redirect, valid_json

API_KEY = "sk-proj-EGRESSKEY0123456789abcdefSECRET4242"

ALWAYS_REFUSED = [
    "169.254.169.254",  # AWS, GCP, Azure, ... metadata
    "169.254.170.2",  # ECS task credentials
    "169.254.7.7",  # any link-local
    "fd00:ec2::254",  # AWS metadata over IPv6
    "100.100.100.200",  # Alibaba metadata
    "fe80::1",
    "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "0.0.0.0",
    "224.0.0.1",
]
PRIVATE = ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "fd12::1"]
PUBLIC = ["8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"]


@pytest.mark.parametrize("address", ALWAYS_REFUSED)
def test_metadata_and_link_local_are_refused_even_when_private_hosts_are_allowed(
    address: str,
) -> None:
    assert address_problem(address, allow_private=True)
    assert address_problem(address, allow_private=False)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_and_loopback_need_the_operator_setting(address: str) -> None:
    problem = address_problem(address, allow_private=False)
    assert problem and ALLOW_PRIVATE_SETTING in problem
    assert address_problem(address, allow_private=True) is None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(address, allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal/computeMetadata/v1",
        "http://METADATA.GOOGLE.INTERNAL./v1",
        "http://[fd00:ec2::254]/latest",
        "http://[::ffff:a9fe:a9fe]/latest",
        "http://169.254.169.254/latest/meta-data",
    ],
)
async def test_save_time_refuses_metadata_in_any_spelling(url: str) -> None:
    assert await base_url_problem(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://2130706433:11434/v1", "http://0x7f.1/v1", "http://localhost:11434/v1"]
)
async def test_save_time_sees_loopback_behind_numeric_forms_and_names(url: str) -> None:
    problem = await base_url_problem(url, allow_private=False)
    assert problem and ALLOW_PRIVATE_SETTING in problem
    assert await base_url_problem(url, allow_private=True) is None


async def test_save_time_checks_every_address_a_name_resolves_to() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "169.254.169.254"]

    problem = await base_url_problem("https://llm.example/v1", False, resolver)
    assert problem and "169.254.169.254" in problem and "llm.example" in problem


async def test_save_time_accepts_a_name_that_does_not_resolve_yet() -> None:
    """Checked again on every connection; refusing it would stop typing a URL before DNS."""

    async def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    assert await base_url_problem("https://llm.example/v1", False, resolver) is None


async def test_dns_rebinding_is_caught_on_the_connection(
    openai_emulator: OpenAIEmulator,
) -> None:
    """The name resolved to a public address when saved and to loopback when called: the
    connection checks the address it actually connects to, so nothing is sent."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0)

    url = f"http://rebind.example:{openai_emulator.port}/v1/chat/completions"
    assert await base_url_problem(url, False, rebinding) is None  # save time: public
    async with guarded_http_client(False, 5.0, rebinding) as http:
        with pytest.raises(HostNotAllowed) as info:
            await http.post(url, json={})
    assert "127.0.0.1" in str(info.value)
    assert openai_emulator.requests == []


async def test_guarded_client_connects_to_the_checked_address(
    openai_emulator: OpenAIEmulator,
) -> None:
    """With private hosts allowed, a name resolved by the guard reaches the checked address."""

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    openai_emulator.script(valid_json())
    async with guarded_http_client(True, 5.0, resolver) as http:
        r = await http.post(
            f"http://my-ollama.internal:{openai_emulator.port}/v1/chat/completions",
            json={"model": "m"},
        )
    assert r.status_code == 200
    assert openai_emulator.requests[0].headers["host"].startswith("my-ollama.internal")


def cfg(base_url: str, allow_private: bool) -> LLMCallConfig:
    return LLMCallConfig(
        base_url, API_KEY, "gpt-4o-mini", timeout_s=5.0, allow_private_hosts=allow_private
    )


async def call_err(c: LLMCallConfig) -> LLMError:
    with pytest.raises(LLMError) as info:
        await complete(c, "s", "u")
    return info.value


async def test_loopback_provider_refused_at_call_time_without_the_setting(
    openai_emulator: OpenAIEmulator,
) -> None:
    openai_emulator.script(valid_json())
    for url in (openai_emulator.base_url, f"http://localhost:{openai_emulator.port}/v1"):
        err = await call_err(cfg(url, allow_private=False))
        assert err.code == LLMErrorCode.HOST_NOT_ALLOWED and not err.retryable
        assert ALLOW_PRIVATE_SETTING in err.message
        assert err.__cause__ is None and err.__context__ is None
    assert openai_emulator.requests == []  # nothing was sent, not even the key
    res = await complete(cfg(f"http://localhost:{openai_emulator.port}/v1", True), "s", "u")
    assert res.text


async def test_redirect_to_metadata_is_refused(openai_emulator: OpenAIEmulator) -> None:
    """A provider (allowed) redirecting the call to the metadata service: the hop is refused
    before any connection is made."""
    openai_emulator.script(Redirect("http://169.254.169.254/latest/meta-data/iam"))
    err = await call_err(cfg(openai_emulator.base_url, allow_private=True))
    assert err.code == LLMErrorCode.HOST_NOT_ALLOWED and not err.retryable
    assert "169.254.169.254" in err.message and "metadata" in err.message
    assert len(openai_emulator.requests) == 1


async def test_provider_error_text_is_a_short_sanitised_excerpt(
    openai_emulator: OpenAIEmulator,
) -> None:
    """A hostile error body: terminal escapes, bidi overrides, the key split by zero-width
    spaces (invisible, but the key all the same), and 20,000 characters of padding."""
    hidden_key = "\u200b".join(API_KEY)
    message = (
        "\x1b[2J\x1b[31mupstream failed\x07\r\nX-Injected: yes\u202e "
        f"your key {hidden_key} was refused " + "A" * 20_000
    )
    openai_emulator.script(Fail(400, message))
    err = await call_err(cfg(openai_emulator.base_url, allow_private=True))
    assert err.code == LLMErrorCode.BAD_REQUEST
    assert len(err.message) <= 260, len(err.message)
    assert "upstream failed" in err.message
    assert not [ch for ch in err.message if unicodedata.category(ch)[0] == "C"], err.message
    visible = "".join(ch for ch in err.message if ch.isprintable())
    assert API_KEY not in visible and "EGRESSKEY" not in visible and "SECRET4242" not in visible


async def test_transport_keeps_its_guard_across_httpx2_versions() -> None:
    """GuardedTransport replaces httpx2's private connection pool; if httpx2 renamed it, the
    guard would silently be bypassed. A literal metadata URL must fail in the guard."""
    async with guarded_http_client(True, 2.0) as http:
        with pytest.raises(HostNotAllowed):
            await http.get("http://169.254.169.254/latest/meta-data")
