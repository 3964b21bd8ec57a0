"""Factors on the snapshot a trader really gathers: a dry run (POST /api/programs/test-run) of a
paper trader whose program calls `data.get_factor` gets numbers for the candle factors and None
for funding and open interest (the paper exchange offers neither); and the example program the
developer guide shows runs as written."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from api.dev_guide import EXAMPLE
from domain.factors import FACTORS
from tests.support.stack import Stack, full_stack, make_settings

EVERY_FACTOR = """
import json

class Strategy:
    def should_trade(self, data):
        values = {name: data.get_factor("BTC", name) for name in NAMES}
        return Decision(operation="hold", reasoning=json.dumps(values))
"""


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def dry_run(st: Stack, code: str) -> dict[str, object]:
    tid = (await st.create_trader(symbols=["BTC"]))["id"]
    r = await st.post("/api/programs/test-run", {"account_id": tid, "code": code})
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    assert out["status"] == "ok", out
    return out


async def test_a_dry_run_gets_every_candle_factor_from_the_gathered_snapshot(st: Stack) -> None:
    code = f"NAMES = {list(FACTORS)!r}\n{EVERY_FACTOR}"
    decision = (await dry_run(st, code))["decision"]
    values = json.loads(decision["reasoning"])  # type: ignore[index]
    assert values.pop("funding_zscore") is None and values.pop("oi_change") is None
    assert all(isinstance(v, float) and math.isfinite(v) for v in values.values()), values
    assert values["volatility"] > 0 and 0 <= values["range_position"] <= 1


async def test_the_guides_example_program_runs_as_written(st: Stack) -> None:
    decision = (await dry_run(st, EXAMPLE))["decision"]
    assert decision["operation"] in ("long", "hold")  # type: ignore[index]
