"""Fixtures for the LLM tests: one OpenAI-compatible emulator per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.openai_server import Fail, OpenAIEmulator


@pytest.fixture(scope="session")
def _openai_emulator_server() -> Iterator[OpenAIEmulator]:
    emu = OpenAIEmulator().start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def openai_emulator(_openai_emulator_server: OpenAIEmulator) -> Iterator[OpenAIEmulator]:
    emu = _openai_emulator_server
    emu.reset()
    emu.default = Fail(500, "emulator: no scripted behaviour left")
    yield emu
    emu.reset()
