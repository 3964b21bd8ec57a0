"""A signal definition's period outside the shared indicator bounds (domain.indicator_periods)
is a 422 naming the field `period` and the bounds of that indicator, in the words a program's
get_indicator uses; nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url), worker=False) as s:
        yield s


async def test_a_period_outside_the_bounds_is_refused_naming_the_field(st: Stack) -> None:
    signal = {"name": "s", "indicator": "rsi", "operator": "<", "threshold": 30}
    for period in (1, 501):
        r = await st.post("/api/signals/definitions", {**signal, "period": period})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "INVALID_SIGNAL", body
        assert body["error"] == f"period: period for rsi must be between 2 and 500, got {period}"
    listed = await st.api.get("/api/signals/definitions")
    assert listed.status_code == 200 and listed.json() == [], listed.text
    ok = await st.post("/api/signals/definitions", {**signal, "period": 500})
    assert ok.status_code == 201 and ok.json()["period"] == 500, ok.text
