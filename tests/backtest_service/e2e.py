"""End-to-end helpers: candles stored in the stack's database, a small real program, and a
POST of a backtest over them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.backtest.support import HOUR, START, store_hourly
from tests.support.stack import Stack
from tests.support.waiting import eventually

# Flat when it has a position, long otherwise: a trade every two bars.
FLIP = """
class Strategy:
    def should_trade(self, data):
        if data.get_positions():
            return Decision(operation="close", symbol="BTC", reasoning="flat")
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2,
                        reasoning="in")
"""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def prices(steps: int) -> list[str]:
    """A saw-tooth around 100, so trades win and lose."""
    return [str(100 + (k % 7) - 3) for k in range(steps)]


async def candles(st: Stack, steps: int) -> None:
    await store_hourly(st.deps.sessions, prices(steps))


def body(program_id: int, steps: int, **config: Any) -> dict[str, Any]:
    return {
        "program_id": program_id,
        "config": {
            "symbols": ["BTC"],
            "start_date": iso(START),
            "end_date": iso(START + (steps - 1) * HOUR),
            "interval": "1h",
            "funding": False,
            **config,
        },
    }


async def post(http: httpx.AsyncClient, program_id: int, steps: int, **config: Any) -> Any:
    return await http.post("/api/programs/backtest", json=body(program_id, steps, **config))


async def ended(http: httpx.AsyncClient, backtest_id: int, timeout: float = 120) -> Any:
    async def done() -> Any:
        r = await http.get(f"/api/programs/backtest/{backtest_id}")
        assert r.status_code == 200, r.text
        b = r.json()
        return b if b["backtest"]["status"] in ("completed", "failed", "cancelled") else None

    return await eventually(done, timeout=timeout, interval=0.2)
