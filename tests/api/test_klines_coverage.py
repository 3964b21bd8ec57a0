"""GET /api/klines/coverage lists the gaps in stored candles, per source, so a user knows what
to backfill before a backtest.

Why: a backtest over a hole trades on nothing; earliest/latest/total alone cannot show one."""

from __future__ import annotations

from temporalio.client import Client

from tests.api.test_klines_import import candle, stack


async def test_coverage_lists_a_gap(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    """On SQLite and PostgreSQL: the gaps are found with window functions in SQL."""
    async with stack(temporal_address, database_url) as st:
        # hours 0-2, then 6-7, then 9: gaps of 3 candles (3-5) and 1 candle (8)
        rows = [candle(i) for i in (0, 1, 2, 6, 7, 9)]
        body = {"symbol": "BTC", "interval": "1h", "candles": rows}
        assert (await st.post("/api/klines/import?source=mine", body)).status_code == 200
        r = await st.api.get("/api/klines/coverage")
        assert r.status_code == 200, r.text
        (mine,) = [c for c in r.json() if c["source"] == "mine"]
        iso = "2023-11-14T{:02d}:00:00+00:00".format
        assert mine == {
            "source": "mine",
            "symbol": "BTC",
            "interval": "1h",
            "earliest": iso(23),
            "latest": "2023-11-15T08:00:00+00:00",
            "total_candles": 6,
            "missing_candles": 4,
            "missing_ranges_total": 2,
            "missing_ranges": [
                {"start": "2023-11-15T02:00:00+00:00", "end": "2023-11-15T04:00:00+00:00",
                 "missing_candles": 3},
                {"start": "2023-11-15T07:00:00+00:00", "end": "2023-11-15T07:00:00+00:00",
                 "missing_candles": 1},
            ],
        }  # fmt: skip
