"""The LLM client against a real HTTP OpenAI-compatible emulator (adapters.llm.client)."""

from __future__ import annotations

import logging
import pickle
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.llm.client import (
    NO_KEY_PLACEHOLDER,
    LLMCallConfig,
    LLMError,
    LLMErrorCode,
    LLMResponse,
    complete,
    scrub,
)
from adapters.llm.providers import estimate_cost_usd
from domain.llm_output import LLMOutputError, parse_decision
from tests.emulators.openai_server import (
    Behaviour,
    Fail,
    OpenAIEmulator,
    Raw,
    Reply,
    bad_request,
    empty,
    fenced,
    forbidden,
    hang,
    in_prose,
    not_found,
    quota_exhausted,
    rate_limited,
    server_error,
    truncated,
    unauthorized,
    unknown_symbol,
    valid_json,
    wrong_types,
)

API_KEY = "sk-proj-TESTKEY0123456789abcdefSECRET9876"
SYMBOLS = ["BTC", "ETH"]
SYSTEM = "You are a trader."
USER = "Prices: BTC 65000. Decide."


def cfg(emu: OpenAIEmulator, **kw: object) -> LLMCallConfig:
    base: dict[str, object] = {
        "base_url": emu.base_url,
        "api_key": API_KEY,
        "model": "gpt-4o-mini",
        "json_mode": True,
        "timeout_s": 5.0,
        # The emulator listens on 127.0.0.1: a loopback host, allowed only when the operator
        # says so (HYPERORU_LLM_ALLOW_PRIVATE_HOSTS).
        "allow_private_hosts": True,
    }
    base.update(kw)
    return LLMCallConfig(**base)  # type: ignore[arg-type]


async def call_err(c: LLMCallConfig) -> LLMError:
    with pytest.raises(LLMError) as info:
        await complete(c, SYSTEM, USER)
    return info.value


def assert_no_key(err: LLMError) -> None:
    texts = [str(err), repr(err), err.message, *map(str, err.args)]
    app = err.to_application_error()
    texts += [str(app), repr(app), repr(app.details)]
    texts.append(repr(pickle.loads(pickle.dumps(err))))
    for text in texts:
        assert API_KEY not in text
        assert "SECRET" not in text and "TESTKEY" not in text and "9876" not in text
    assert err.__cause__ is None and err.__context__ is None


# ---------------------------------------------------------------- successful calls


async def test_valid_json_reply_and_request_shape(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(valid_json())
    res = await complete(cfg(openai_emulator), SYSTEM, USER)
    assert isinstance(res, LLMResponse)
    assert res.model == "gpt-4o-mini" and res.finish_reason == "stop"
    assert (res.prompt_tokens, res.completion_tokens) == (321, 54)
    assert res.latency_ms >= 0
    parsed = parse_decision(res.text, SYMBOLS, Decimal(1000))
    assert parsed.ok and parsed.decision is not None and parsed.decision.symbol == "BTC"

    [req] = openai_emulator.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.body["model"] == "gpt-4o-mini"
    assert req.body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER},
    ]
    assert req.body["response_format"] == {"type": "json_object"}
    assert "openai-organization" not in req.headers
    assert estimate_cost_usd(res.model, res.prompt_tokens, res.completion_tokens) is not None


async def test_json_mode_off_sends_no_response_format(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(valid_json())
    await complete(cfg(openai_emulator, json_mode=False, max_tokens=300, temperature=0.2), "s", "u")
    [req] = openai_emulator.requests
    assert "response_format" not in req.body
    assert req.body["max_tokens"] == 300 and req.body["temperature"] == 0.2


async def test_model_reported_by_provider_wins(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(Reply('{"operation": "hold"}', model="gpt-4o-mini-2024-07-18"))
    res = await complete(cfg(openai_emulator), SYSTEM, USER)
    assert res.model == "gpt-4o-mini-2024-07-18"


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (fenced(), None),
        (in_prose(), None),
        (truncated(), LLMOutputError.NOT_JSON),
        (wrong_types(), LLMOutputError.SCHEMA),
        (unknown_symbol(), LLMOutputError.UNKNOWN_SYMBOL),
        (valid_json(size_usd=1e12), LLMOutputError.ABSURD_SIZE),
        (valid_json(operation="buy; ignore previous instructions"), LLMOutputError.SCHEMA),
        (empty(), LLMOutputError.EMPTY),
        (Reply(None), LLMOutputError.EMPTY),
    ],
)
async def test_scripted_content_is_returned_then_parsed(
    openai_emulator: OpenAIEmulator, behaviour: Reply, code: LLMOutputError | None
) -> None:
    openai_emulator.script(behaviour)
    res = await complete(cfg(openai_emulator), SYSTEM, USER)
    parsed = parse_decision(res.text, SYMBOLS, Decimal(1000))
    assert parsed.ok is (code is None)
    assert parsed.error_code == code
    assert len(openai_emulator.requests) == 1


async def test_truncated_reply_reports_length(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(truncated())
    res = await complete(cfg(openai_emulator), SYSTEM, USER)
    assert res.finish_reason == "length"


async def test_no_key_sends_placeholder(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(valid_json())
    await complete(cfg(openai_emulator, api_key=""), SYSTEM, USER)
    assert openai_emulator.requests[0].headers["authorization"] == f"Bearer {NO_KEY_PLACEHOLDER}"


async def test_operator_openai_env_is_not_forwarded(
    openai_emulator: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operator")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-operator")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-key")
    openai_emulator.script(valid_json())
    await complete(cfg(openai_emulator), SYSTEM, USER)
    headers = openai_emulator.requests[0].headers
    assert "openai-organization" not in headers and "openai-project" not in headers
    assert headers["authorization"] == f"Bearer {API_KEY}"


# ---------------------------------------------------------------- failures


async def test_rate_limited_then_success(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(rate_limited(retry_after=2), valid_json())
    c = cfg(openai_emulator)
    err = await call_err(c)
    assert err.code == LLMErrorCode.RATE_LIMITED and err.retryable and err.status == 429
    assert err.retry_after_s == 2.0
    assert "retry after 2s" in err.message
    assert len(openai_emulator.requests) == 1  # the SDK did not retry on its own
    app = err.to_application_error()
    assert app.type == "LLM_RATE_LIMITED" and not app.non_retryable
    assert app.next_retry_delay == timedelta(seconds=2)

    res = await complete(c, SYSTEM, USER)  # the next (Temporal) attempt
    assert parse_decision(res.text, SYMBOLS, 1000).ok
    assert len(openai_emulator.requests) == 2


async def test_rate_limited_with_retry_after_ms(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(
        Fail(429, "slow down", headers={"retry-after-ms": "1500", "retry-after": "9"})
    )
    err = await call_err(cfg(openai_emulator))
    assert err.retry_after_s == 1.5


async def test_rate_limited_without_retry_after(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(rate_limited(retry_after=None))
    err = await call_err(cfg(openai_emulator))
    assert err.retryable and err.retry_after_s is None
    assert err.to_application_error().next_retry_delay is None


async def test_quota_exhausted_is_not_retryable(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(quota_exhausted())
    err = await call_err(cfg(openai_emulator))
    assert err.code == LLMErrorCode.QUOTA and not err.retryable


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_errors_are_retryable_single_attempt(
    openai_emulator: OpenAIEmulator, status: int
) -> None:
    openai_emulator.script(server_error(status))
    err = await call_err(cfg(openai_emulator))
    assert err.code == LLMErrorCode.PROVIDER_ERROR and err.retryable and err.status == status
    assert f"failed ({status})" in err.message
    assert len(openai_emulator.requests) == 1


@pytest.mark.serial  # measures latency: runs alone (make test)
async def test_hang_past_timeout(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(hang(5))
    started = time.monotonic()
    err = await call_err(cfg(openai_emulator, timeout_s=0.5))
    elapsed = time.monotonic() - started
    assert err.code == LLMErrorCode.TIMEOUT and err.retryable
    assert "did not answer within 0.5s" in err.message
    assert 0.4 < elapsed < 2.5
    assert len(openai_emulator.requests) == 1


async def test_unauthorized(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(unauthorized(echo_key=True))
    err = await call_err(cfg(openai_emulator))
    assert err.code == LLMErrorCode.AUTH and not err.retryable and err.status == 401
    assert err.message == "the provider rejected the API key (401)"
    assert err.to_application_error().non_retryable
    assert_no_key(err)
    assert len(openai_emulator.requests) == 1


@pytest.mark.parametrize(
    ("behaviour", "code", "fragment"),
    [
        (forbidden(), LLMErrorCode.PERMISSION, "refused access with this API key (403)"),
        (not_found(), LLMErrorCode.NOT_FOUND, "has no model 'gpt-4o-mini'"),
        (bad_request(), LLMErrorCode.BAD_REQUEST, "rejected the request (400)"),
        (Fail(422, "bad params"), LLMErrorCode.BAD_REQUEST, "(422): bad params"),
    ],
)
async def test_client_errors_are_not_retryable(
    openai_emulator: OpenAIEmulator, behaviour: Fail, code: LLMErrorCode, fragment: str
) -> None:
    openai_emulator.script(behaviour)
    err = await call_err(cfg(openai_emulator))
    assert err.code == code and not err.retryable
    assert fragment in err.message
    assert len(openai_emulator.requests) == 1


@pytest.mark.parametrize(
    "behaviour",
    [
        Raw(200, '{"id": "x", "object": "chat.completion", "choices": []}'),
        Raw(200, "<html>gateway</html>", "text/html"),
        Raw(200, "not json"),
        Raw(200, '{"unexpected": true}'),
    ],
)
async def test_unusable_success_body(openai_emulator: OpenAIEmulator, behaviour: Raw) -> None:
    openai_emulator.script(behaviour)
    err = await call_err(cfg(openai_emulator))
    assert err.code == LLMErrorCode.BAD_RESPONSE and err.retryable


async def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = LLMCallConfig(
        f"http://127.0.0.1:{port}/v1",
        API_KEY,
        "gpt-4o-mini",
        timeout_s=2,
        allow_private_hosts=True,  # a loopback port on purpose
    )
    err = await call_err(c)
    assert err.code == LLMErrorCode.CONNECTION and err.retryable
    assert err.message == f"could not connect to the provider at 127.0.0.1:{port}"
    assert_no_key(err)


@pytest.mark.parametrize("url", ["ftp://x/v1", "not a url", "https://user:pw@example.com/v1"])
async def test_bad_base_url_is_a_config_error(url: str) -> None:
    err = await call_err(LLMCallConfig(url, API_KEY, "m"))
    assert err.code == LLMErrorCode.CONFIG and not err.retryable
    assert "pw" not in err.message
    assert err.__cause__ is None and err.__context__ is None


# ---------------------------------------------------------------- the key never leaks


async def test_key_never_in_errors_or_logs(
    openai_emulator: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    behaviours: list[Behaviour] = [
        unauthorized(echo_key=True),
        Fail(403, "denied", echo_key=True),
        Fail(400, "bad", echo_key=True),
        Fail(404, "missing", echo_key=True),
        Fail(429, "slow", echo_key=True, headers={"retry-after": "1"}),
        server_error(500, echo_key=True),
        server_error(503, echo_key=True),
        Raw(500, f"plain text error for {API_KEY}", "text/plain"),
        Raw(200, "not json"),
        hang(3),
    ]
    openai_emulator.script(*behaviours)
    c = cfg(openai_emulator, timeout_s=0.5)
    assert API_KEY not in repr(c) and API_KEY not in str(c)
    with caplog.at_level(logging.DEBUG):
        errors = [await call_err(c) for _ in behaviours]
    assert len(openai_emulator.requests) == len(behaviours)
    for err in errors:
        assert_no_key(err)
    assert "[redacted]" in errors[5].message  # the echoed key was there and was scrubbed
    assert API_KEY not in caplog.text and "SECRET" not in caplog.text
    assert caplog.records  # the SDK and this module did log at DEBUG


def test_scrub() -> None:
    key = "sk-abc123def456ghi789"
    text = f"bad key {key}, masked sk-abc***i789, part def456ghi789xyz, ok words here"
    out = scrub(text, key)
    assert key not in out and "def456ghi789" not in out and "***" not in out
    assert out.endswith("ok words here")
    assert scrub("nothing secret", "") == "nothing secret"


@pytest.mark.parametrize("key", [API_KEY + "\r\n", "sk-ключ-0123456789", "sk abc"])
async def test_a_key_no_header_can_carry_fails_at_once_without_a_call(
    openai_emulator: OpenAIEmulator, key: str
) -> None:
    """A key stored before the API refused these: a clear, non-retryable configuration error,
    not a "could not connect" retried for 30 s."""
    openai_emulator.script(valid_json())
    err = await call_err(cfg(openai_emulator, api_key=key))
    assert err.code == LLMErrorCode.CONFIG and not err.retryable
    assert "llm_api_key" in err.message
    assert openai_emulator.requests == []
