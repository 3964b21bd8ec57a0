"""Programs and helpers for the factor-history tests."""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from db.market_history import FundingRateRecord
from tests.support.stack import Stack

# Reports the factor (and what the snapshot carried) in its reasoning.
REPORT = """
import json

class Strategy:
    def should_trade(self, data):
        try:
            value = data.get_factor("BTC", NAME, period=PERIOD)
        except ValueError as err:  # too little history yet
            value = str(err)
        return Decision(operation="hold", reasoning=json.dumps({"value": value}))
"""


def report(name: str, period: int) -> str:
    return f"NAME = {name!r}\nPERIOD = {period}\n{REPORT}"


def zscore(values: list[float]) -> float:
    """domain/factors' z-score: the last value against the ones before it (sample stdev)."""
    before = values[:-1]
    return (values[-1] - statistics.fmean(before)) / statistics.stdev(before)


async def store_rates(st: Stack, source: str, rates: dict[int, str]) -> None:
    async with st.deps.sessions() as s, s.begin():
        await s.execute(
            insert(FundingRateRecord),
            [
                {"source": source, "symbol": "BTC", "funding_time_ms": t, "rate": Decimal(r)}
                for t, r in rates.items()
            ],
        )


async def decide(st: Stack, tid: int) -> tuple[Any, dict[str, Any]]:
    """One real decision (trigger): the factor's value and the snapshot it was made on."""
    r = await st.post(f"/api/account/{tid}/trigger", params={"include_snapshot": "true"})
    assert r.status_code == 200, r.text
    out = r.json()
    record = out["record"]
    return json.loads(record["output"]["decision"]["reasoning"])["value"], record["input_snapshot"]
