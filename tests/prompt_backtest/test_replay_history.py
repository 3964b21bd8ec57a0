"""Deploys are replay-safe for prompt backtests: histories recorded from real runs (a chunk
retried after a 502, a budget stop, a cancel) replay against the current workflow code. From
now on a change to PromptBacktestWorkflow must replay these (a `workflow.patched` branch, see
README's Upgrading): record new histories next to them, never over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.temporal import DATA_CONVERTER
from workflows.prompt_backtest import PromptBacktestWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    replayer = Replayer(workflows=[PromptBacktestWorkflow], data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(history)


def test_the_three_endings_are_recorded() -> None:
    assert {p.stem for p in HISTORIES} == {"completed", "completed_budget", "cancelled"}
