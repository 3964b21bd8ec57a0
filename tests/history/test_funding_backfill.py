"""Funding-rate history: `kind: "funding"` backfills each venue's settled rates (paged as the
venue pages them) into funding_rates, and GET /api/klines/funding reads them back.

Why: backtests charge funding point in time; a missing or doubled settlement changes PnL."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from api.money import fmt_str
from tests.emulators.exchange_common import funding_rate_at
from tests.history.support import DAY, END, HOUR, finished, funding_count, iso, stack, start, venues


@pytest.mark.parametrize(
    ("exchange", "days", "every_h", "requests", "op"),
    [
        ("hyperliquid", 30, 1, 2, "info:fundingHistory"),  # 720 hourly rates: 500 + 220
        ("binance", 400, 8, 2, "GET /fapi/v1/fundingRate"),  # 1200 8-hourly rates: 1000 + 200
    ],
)
async def test_funding_backfill_stores_every_settlement_once(
    temporal_client: Client,
    temporal_address: str,
    sqlite_url: str,
    exchange: str,
    days: int,
    every_h: int,
    requests: int,
    op: str,
) -> None:
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            begin = END - days * DAY
            task = await start(
                st, exchange=exchange, symbol="BTC", kind="funding",
                start=iso(begin), end=iso(END),
            )  # fmt: skip
            done = await finished(st, task["id"])
            expected = list(range(begin, END, every_h * HOUR))
            assert (done["status"], done["rows_written"]) == ("completed", len(expected)), done
            assert done["progress_pct"] == 100.0 and done["kind"] == "funding"
            venue_requests = v.hl.requests if exchange == "hyperliquid" else v.bn.requests
            assert venue_requests.count(op) == requests
            assert await funding_count(st, exchange) == len(expected)
            r = await st.api.get(
                "/api/klines/funding",
                params={"symbol": "BTC", "start": iso(begin), "end": iso(END)},
            )
            assert r.status_code == 200, r.text
            rows = r.json()
            assert [x["funding_time"] for x in rows] == expected
            assert [x["rate"] for x in rows] == [fmt_str(funding_rate_at(t)) for t in expected]
            assert {x["source"] for x in rows} == {exchange}
