"""A trader's export equals what the API lists: the JSON document's decisions, orders, fills and
round trips are the history routes' items (oldest first), its equity points are what the asset
curve downsamples; each CSV holds the same records, one per row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client

from tests import programs
from tests.exports.records import LISTS, bucket_lasts, from_csv, listed
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url)) as stack:
        yield stack


async def _history(st: Stack) -> tuple[int, datetime, datetime]:
    """Two round trips, a hold and the notes around them; returns the trader and the span."""
    began = datetime.now(UTC) - timedelta(seconds=1)
    tid = (await st.create_trader(trading_enabled=True))["id"]
    opening = await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG, "long"))["id"])
    holding = await st.bind(tid, (await st.create_program(programs.HOLD, "hold"))["id"])
    closing = await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    for binding in (opening, holding, closing, opening, closing):
        r = await st.post(f"/api/account/{tid}/trigger", json={"binding_id": binding["id"]})
        assert r.json()["status"] in ("executed", "hold"), r.text
    return tid, began, datetime.now(UTC)  # past by the time the curve is asked for


async def _api_records(st: Stack, tid: int, start: datetime, end: datetime) -> dict[str, Any]:
    records: dict[str, Any] = {k: await listed(st, tid, route) for k, route in LISTS.items()}
    curve = await st.api.get(
        f"/api/account/{tid}/asset-curve",
        params={"timeframe": "5m", "start": start.isoformat(), "end": end.isoformat()},
    )
    assert curve.json()["current"] is False  # `end` is past: stored points only
    records["equity_curve"] = curve.json()["points"]
    return records


async def test_the_json_export_equals_the_api_records(st: Stack) -> None:
    tid, start, end = await _history(st)
    r = await st.api.get(f"/api/account/{tid}/export.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["content-disposition"] == f'attachment; filename="trader-{tid}-export.json"'
    doc = r.json()
    api = await _api_records(st, tid, start, end)
    assert len(api["round_trips"]) == 2 and len(api["fills"]) == 4
    for section in LISTS:
        assert doc[section] == api[section], section
    assert len(doc["equity"]) >= 4  # a point per fill
    assert bucket_lasts(doc["equity"]) == api["equity_curve"]
    assert doc["trader"]["account_id"] == tid and doc["format"] == "hyperoru-export-1"


async def test_each_csv_export_equals_the_api_records(st: Stack) -> None:
    tid, start, end = await _history(st)
    api = await _api_records(st, tid, start, end)
    kinds = {"decisions": "decisions", "orders": "orders", "fills": "fills",
             "round-trips": "round_trips"}  # fmt: skip
    for kind, section in kinds.items():
        r = await st.api.get(f"/api/account/{tid}/export/{kind}.csv")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers["content-disposition"] == (
            f'attachment; filename="trader-{tid}-{kind}.csv"'
        )
        assert from_csv(r.text, api[section]) == api[section], kind
    r = await st.api.get(f"/api/account/{tid}/export/equity.csv")
    points = from_csv(r.text, [{}] * (r.text.count("\r\n") - 1))
    assert bucket_lasts(points) == api["equity_curve"]
