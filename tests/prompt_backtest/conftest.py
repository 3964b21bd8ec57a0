"""Prompt backtests on the real stack: API, worker (with the backtest queue), Temporal, the
openai SDK against the OpenAI-compatible emulator over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from tests.emulators.openai_server import OpenAIEmulator
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenAIEmulator]:
    emu = OpenAIEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str, emulator: OpenAIEmulator
) -> AsyncIterator[Stack]:
    emulator.reset()
    emulator.count_tokens = False
    # The emulator listens on 127.0.0.1: a loopback LLM host needs the operator's setting.
    settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=10.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack


@pytest.fixture
async def st_any_db(
    temporal_client: Client, temporal_address: str, database_url: str, emulator: OpenAIEmulator
) -> AsyncIterator[Stack]:
    """The same stack on each database kind (SQLite, and PostgreSQL when installed)."""
    emulator.reset()
    emulator.count_tokens = False
    settings = make_settings(
        temporal_address, database_url, llm_timeout_seconds=10.0, llm_allow_private_hosts=True
    )
    async with full_stack(None, settings) as stack:
        yield stack
