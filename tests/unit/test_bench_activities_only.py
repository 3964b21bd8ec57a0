"""`python -m bench.activities_only` keeps working: every decision runs all its activities."""

from __future__ import annotations

from bench.activities_only import run


async def test_activities_only_runs_whole_decisions() -> None:
    out = await run(traders=2, decisions=4, concurrency=2)
    # The bench program alternates long / close: every decision places its order.
    assert out["statuses"] == {"executed": 6}  # 2 warm-up + 4 measured
    assert out["cpu_ms_per_decision"] > 0
