"""An LLM answer is kept to MAX_ANSWER_CHARS and no response body is read past
MAX_RESPONSE_BYTES (adapters.llm.client, adapters.llm.transport).

Before: a multi-megabyte answer was carried whole into the activity's result, which Temporal
refused (payload limit), so the call was retried, and paid for, five times.
"""

from __future__ import annotations

import gzip
import json

import pytest

from adapters.llm.client import LLMCallConfig, LLMError, LLMErrorCode, complete
from adapters.llm.transport import MAX_RESPONSE_BYTES
from domain.llm_output import MAX_ANSWER_CHARS, LLMOutputError, parse_decision
from tests.emulators.openai_server import Fail, OpenAIEmulator, Raw, Reply, valid_json


def cfg(emu: OpenAIEmulator) -> LLMCallConfig:
    return LLMCallConfig(
        emu.base_url, "sk-size-test-0000", "gpt-4o-mini", timeout_s=10.0, allow_private_hosts=True
    )


def completion_body(content: str) -> bytes:
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


async def test_an_answer_over_the_cap_is_cut_and_flagged(openai_emulator: OpenAIEmulator) -> None:
    answer = json.dumps({"operation": "hold", "reasoning": "r" * 100_000})
    openai_emulator.script(Reply(answer))
    res = await complete(cfg(openai_emulator), "s", "u")
    assert res.text == answer[:MAX_ANSWER_CHARS]
    assert res.oversize and f"{len(answer):,}" in res.oversize and "65,536" in res.oversize
    assert res.prompt_tokens == 321  # everything else of the reply is kept
    parsed = parse_decision(res.text, ["BTC"], 1000, res.oversize)
    assert not parsed.ok and parsed.error_code is LLMOutputError.ANSWER_TOO_LARGE


async def test_an_answer_at_the_cap_is_whole(openai_emulator: OpenAIEmulator) -> None:
    answer = json.dumps({"operation": "hold", "reasoning": "x"})
    answer += " " * (MAX_ANSWER_CHARS - len(answer))
    openai_emulator.script(Reply(answer))
    res = await complete(cfg(openai_emulator), "s", "u")
    assert res.text == answer and res.oversize is None
    assert parse_decision(res.text, ["BTC"], 1000, res.oversize).ok


async def test_reading_stops_at_the_byte_cap_and_keeps_the_start_of_the_answer(
    openai_emulator: OpenAIEmulator,
) -> None:
    """A 6 MB answer full of escapes (quotes, newlines): reading stops at the cap, the start of
    the answer is decoded, escapes and all, even where the cut fell inside one."""
    unit = 'say "hi"\n'
    openai_emulator.script(Reply(unit * 600_000))
    res = await complete(cfg(openai_emulator), "s", "u")
    assert res.oversize and f"{MAX_RESPONSE_BYTES:,} bytes" in res.oversize
    assert len(res.text) == MAX_ANSWER_CHARS
    assert res.text == (unit * 600_000)[:MAX_ANSWER_CHARS]


async def test_a_compressed_bomb_stops_at_the_cap(openai_emulator: OpenAIEmulator) -> None:
    """50 MB of answer in 50 KB of gzip (sent although the client asked for identity)."""
    bomb = gzip.compress(completion_body("z" * 50_000_000), compresslevel=9)
    assert len(bomb) < 200_000
    openai_emulator.script(Raw(200, bomb, headers={"content-encoding": "gzip"}))
    res = await complete(cfg(openai_emulator), "s", "u")
    assert res.oversize and res.text == "z" * MAX_ANSWER_CHARS
    assert openai_emulator.requests[0].headers["accept-encoding"] == "identity"


async def test_a_small_gzip_answer_is_read_normally(openai_emulator: OpenAIEmulator) -> None:
    body = gzip.compress(completion_body(json.dumps({"operation": "hold"})))
    openai_emulator.script(Raw(200, body, headers={"content-encoding": "gzip"}))
    res = await complete(cfg(openai_emulator), "s", "u")
    assert res.oversize is None and json.loads(res.text) == {"operation": "hold"}


async def test_an_unrequested_encoding_is_a_bad_response(openai_emulator: OpenAIEmulator) -> None:
    openai_emulator.script(Raw(200, b"\x00\x01", headers={"content-encoding": "br"}))
    with pytest.raises(LLMError) as info:
        await complete(cfg(openai_emulator), "s", "u")
    assert info.value.code == LLMErrorCode.BAD_RESPONSE


async def test_a_huge_error_body_is_an_error_not_an_answer(
    openai_emulator: OpenAIEmulator,
) -> None:
    openai_emulator.script(Fail(503, "e" * 3_000_000), valid_json())
    with pytest.raises(LLMError) as info:
        await complete(cfg(openai_emulator), "s", "u")
    err = info.value
    assert err.code == LLMErrorCode.PROVIDER_ERROR and err.retryable and err.status == 503
    assert len(err.message) < 300
