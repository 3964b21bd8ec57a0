"""`python -m bench.activities_only` keeps working: every decision (or start) runs all its
activities."""

from __future__ import annotations

from bench.activities_only import run, run_starts


async def test_activities_only_runs_whole_decisions() -> None:
    out = await run(traders=2, decisions=4, concurrency=2)
    # The bench program alternates long / close: every decision places its order.
    assert out["statuses"] == {"executed": 6}  # 2 warm-up + 4 measured
    assert out["cpu_ms_per_decision"] > 0


async def test_activities_only_runs_whole_starts() -> None:
    out = await run_starts(traders=4, concurrency=2)
    assert out["starts"] == 2  # the other half warms up
    assert out["open_positions"] == 0  # new paper traders hold nothing
    assert out["cpu_ms_per_start"] > 0
