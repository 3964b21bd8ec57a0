"""The escape corpus: every hostile program ends as a failed result with a stable error code,
leaks nothing, and leaves the sandbox (in fork mode: the same zygote) serving the next program."""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import zygote_client
from sandbox.protocol import ERROR_CODES
from sandbox.runner import SandboxLimits, run_program
from tests.sandbox.escape_corpus import CANARY_PREFIX, CORPUS, Escape
from tests.sandbox.procs import sandbox_children

# compile_seconds: compile_time_bomb takes > 2 s to compile here; a wide margin either way.
LIMITS = SandboxLimits(wall_seconds=3.0, cpu_seconds=1, memory_mb=384, compile_seconds=1.0)
NORMAL = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        return Decision(operation="long", symbol="BTC", size_usd=100, reasoning=f"rsi={rsi:.6f}")
"""
# A secret in the worker's memory (this process); the environment variable is set below.
_WORKER_MEMORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def canary() -> Iterator[str]:
    """A secret in the worker's environment and memory before the zygote starts (it is
    restarted here), as a real worker holds its database URL and keys."""
    secret = f"{CANARY_PREFIX}{uuid.uuid4().hex}"
    os.environ["HYPERORU_TEST_CANARY"] = secret
    _WORKER_MEMORY["secret"] = secret
    zygote_client.shutdown()
    yield secret
    del os.environ["HYPERORU_TEST_CANARY"]
    _WORKER_MEMORY.clear()


def test_corpus_is_complete() -> None:
    assert len(CORPUS) >= 30
    assert len({e.name for e in CORPUS}) == len(CORPUS)
    assert all(e.codes <= ERROR_CODES for e in CORPUS)


@pytest.mark.parametrize("escape", CORPUS, ids=lambda e: e.name)
async def test_escape_is_contained(
    escape: Escape, snapshot: dict[str, Any], sandbox_mode: str, canary: str
) -> None:
    before = await run_program(NORMAL, snapshot, LIMITS)
    assert before.ok, before
    zygote = zygote_client.zygote_pid() if sandbox_mode == "fork" else None
    assert zygote is not None or sandbox_mode == "spawn"
    baseline = sandbox_children()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    try:
        code = escape.code.replace("PORT", str(listener.getsockname()[1]))
        result = await run_program(code, snapshot, LIMITS)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    finally:
        listener.close()

    assert not result.ok, f"{escape.name} got out: {result}"
    assert result.error_code in escape.codes, result
    assert re.search(escape.expect, result.error or ""), result
    for text in (result.logs, result.error or "", json.dumps(result.decision)):
        assert canary not in text and CANARY_PREFIX not in text
        # Storable and sendable (a lone surrogate or NUL fails an API answer or a DB write).
        assert "\x00" not in text and text == text.encode("utf-8", "replace").decode(), text[:200]

    # Nothing left running, and the next program runs normally (in the same zygote).
    assert sandbox_children() - baseline == set()
    after = await run_program(NORMAL, snapshot, LIMITS)
    assert after.ok and after.decision == before.decision, after
    if zygote is not None:
        assert zygote_client.zygote_pid() == zygote
