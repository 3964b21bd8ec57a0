"""`python -m bench.activities_only` keeps working: every decision (or start) runs all its
activities, and its temp database is gone afterwards."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench.activities_only import run, run_starts


@pytest.fixture(autouse=True)
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


async def test_activities_only_runs_whole_decisions(temp_root: Path) -> None:
    out = await run(traders=2, decisions=4, concurrency=2)
    # The bench program alternates long / close: every decision places its order.
    assert out["statuses"] == {"executed": 6}  # 2 warm-up + 4 measured
    assert out["cpu_ms_per_decision"] > 0
    assert list(temp_root.iterdir()) == []


async def test_activities_only_runs_whole_starts(temp_root: Path) -> None:
    out = await run_starts(traders=4, concurrency=2)
    assert out["starts"] == 2  # the other half warms up
    assert out["open_positions"] == 0  # new paper traders hold nothing
    assert out["cpu_ms_per_start"] > 0
    assert list(temp_root.iterdir()) == []
