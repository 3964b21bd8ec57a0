"""POST /api/klines/import: a candle file is stored whole or not at all.

Why these matter: backtests stand on these candles. A bad row must never be half-imported next to
good ones, a re-import must change nothing, and a file must not silently overwrite candles that
are already stored with other values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select
from temporalio.client import Client

from api.money import fmt_str
from db.candles import load_candles
from db.models import CandleRecord
from domain.market import Interval
from tests.support.stack import Stack, full_stack, make_settings

H = 3_600_000
T0 = 1_700_002_800_000  # a whole hour


@asynccontextmanager
async def stack(temporal_address: str, url: str, **overrides: Any) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, url, **overrides)
    async with full_stack(None, settings, worker=False) as st:
        yield st


async def stored(st: Stack, source: str = "import", symbol: str = "BTC") -> list[dict[str, Any]]:
    got = await load_candles(st.app.state.sessions, source, symbol, Interval.H1, 1 << 60, 10_000)
    return [
        {
            "timestamp": c.open_time_ms,
            "open": fmt_str(c.open),
            "high": fmt_str(c.high),
            "low": fmt_str(c.low),
            "close": fmt_str(c.close),
            "volume": fmt_str(c.volume),
        }
        for c in got
    ]


async def count(st: Stack) -> int:
    async with st.app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(CandleRecord)) or 0)


def candle(i: int, **over: Any) -> dict[str, Any]:
    row = {
        "timestamp": T0 + i * H,
        "open": "100.5",
        "high": "101.25",
        "low": "99.75",
        "close": "100.75",
        "volume": "12.5",
    }
    return {**row, **over}


def csv_body(rows: list[dict[str, Any]], pad: int = 0) -> bytes:
    """CSV of rows; `pad` characters of an extra column (ignored) per row."""
    lines = ["timestamp,open,high,low,close,volume,note"]
    lines += [",".join(str(r[k]) for k in ("timestamp", "open", "high", "low", "close", "volume"))
              + "," + "x" * pad for r in rows]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


async def test_an_export_imports_back_unchanged(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    """What GET /api/klines/data answers, posted back, is stored exactly as exported."""
    async with stack(temporal_address, database_url) as st:
        r = await st.api.get("/api/klines/data", params={"symbol": "BTC", "interval": "1h"})
        assert r.status_code == 200, r.text
        export = r.json()
        assert len(export) > 50
        body = {"symbol": "BTC", "interval": "1h", "candles": export}
        r = await st.post("/api/klines/import", body)
        assert r.status_code == 200, r.text
        assert r.json()["inserted"] == len(export)
        assert await stored(st) == export
        # the bare list /data answers is taken too (symbol and interval as parameters)
        r = await st.post("/api/klines/import?symbol=BTC&interval=1h&source=copy", export)
        assert r.status_code == 200, r.text
        assert await stored(st, "copy") == export


async def test_csv_body_is_imported(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with stack(temporal_address, sqlite_url) as st:
        rows = [candle(0), candle(1), candle(2, close="101.1")]
        r = await st.api.post(
            "/api/klines/import?symbol=btc&interval=1h",
            content=csv_body(rows),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["format"] == "csv" and r.json()["inserted"] == 3
        assert await stored(st) == rows


async def test_venue_dumps_are_imported(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Binance's kline CSV and Hyperliquid's candleSnapshot rows, as the venues give them."""
    async with stack(temporal_address, sqlite_url) as st:
        binance = (
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore\n"
            f"{T0},100.5,101.25,99.75,100.75,12.5,{T0 + H - 1},1250,10,6,600,0\n"
        )
        r = await st.api.post(
            "/api/klines/import?symbol=ETH&interval=1h",
            content=binance.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["format"] == "binance"
        assert await stored(st, symbol="ETH") == [candle(0)]
        snapshot = [
            {"t": T0 + H, "T": T0 + 2 * H - 1, "s": "SOL", "i": "1h", "o": "100.5",
             "c": "100.75", "h": "101.25", "l": "99.75", "v": "12.5", "n": 10}
        ]  # fmt: skip
        r = await st.post("/api/klines/import", snapshot)  # symbol and interval from the rows
        assert r.status_code == 200, r.text
        assert r.json()["format"] == "hyperliquid" and r.json()["symbol"] == "SOL"
        assert await stored(st, symbol="SOL") == [candle(1)]


async def test_one_bad_row_refuses_the_upload_and_names_it(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with stack(temporal_address, sqlite_url) as st:
        rows = [candle(0), candle(1, low="100.6"), candle(2)]  # low above the open
        r = await st.post(
            "/api/klines/import", {"symbol": "BTC", "interval": "1h", "candles": rows}
        )
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "INVALID_CANDLES" and "row 2 low" in body["error"]
        assert body["rows"] == [
            {"row": 2, "field": "low", "rule": "low<=open,close,high",
             "message": "low must be <= open, close"}
        ]  # fmt: skip
        assert await count(st) == 0


async def test_rows_break_each_rule_by_name(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Misaligned time, negative volume, high below close, and a duplicate with other values."""
    async with stack(temporal_address, sqlite_url) as st:
        rows = [
            candle(0, timestamp=T0 + 1),
            candle(1, volume="-1"),
            candle(2, high="100.7"),
            candle(3),
            candle(3, close="100.9"),
        ]
        r = await st.post(
            "/api/klines/import", {"symbol": "BTC", "interval": "1h", "candles": rows}
        )
        assert r.status_code == 422, r.text
        got = {(e["row"], e["field"], e["rule"]) for e in r.json()["rows"]}
        assert got == {
            (1, "timestamp", "aligned"),
            (2, "volume", "non_negative"),
            (3, "high", "high>=open,close"),
            (5, "timestamp", "unique"),
        }
        assert await count(st) == 0


async def test_reimport_changes_nothing(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    async with stack(temporal_address, database_url) as st:
        body = {"symbol": "BTC", "interval": "1h", "candles": [candle(i) for i in range(5)]}
        assert (await st.post("/api/klines/import", body)).json()["inserted"] == 5
        r = await st.post("/api/klines/import", body)
        assert r.status_code == 200, r.text
        assert (r.json()["inserted"], r.json()["unchanged"]) == (0, 5)
        assert await count(st) == 5


async def test_conflicting_candles_are_refused_unless_replaced(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    async with stack(temporal_address, database_url) as st:
        first = {"symbol": "BTC", "interval": "1h", "candles": [candle(i) for i in range(3)]}
        assert (await st.post("/api/klines/import", first)).status_code == 200
        changed = [candle(1, close="101"), candle(2), candle(3)]  # row 1 differs, row 3 is new
        body = {"symbol": "BTC", "interval": "1h", "candles": changed}
        r = await st.post("/api/klines/import", body)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "CANDLE_CONFLICT"
        assert r.json()["rows"] == [{"row": 1, "timestamp": T0 + H}]
        assert await stored(st) == first["candles"]  # the new row 3 was not stored either
        r = await st.post("/api/klines/import?replace=true", body)
        assert r.status_code == 200, r.text
        assert (r.json()["replaced"], r.json()["inserted"], r.json()["unchanged"]) == (1, 1, 1)
        assert await stored(st) == [candle(0), *changed]


async def test_size_limits_answer_413(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Rows past klines_import_max_rows, bytes past klines_import_max_bytes: 413, nothing
    stored; the import's byte limit, not the API's general one, applies to it."""
    async with stack(
        temporal_address,
        sqlite_url,
        klines_import_max_rows=10,
        klines_import_max_bytes=4096,
        max_body_bytes=1024,
    ) as st:
        ok = csv_body([candle(i) for i in range(10)], pad=100)
        assert 1024 < len(ok) < 4096
        r = await st.api.post(
            "/api/klines/import?symbol=BTC&interval=1h",
            content=ok,
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        rows = csv_body([candle(i) for i in range(11)])
        r = await st.api.post(
            "/api/klines/import?symbol=BTC&interval=1h",
            content=rows,
            headers={"Content-Type": "text/csv"},
        )
        assert (r.status_code, r.json()["code"]) == (413, "TOO_MANY_ROWS"), r.text
        r = await st.api.post(
            "/api/klines/import?symbol=BTC&interval=1h",
            content=b"x" * 5000,
            headers={"Content-Type": "text/csv"},
        )
        assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE"), r.text
        assert await count(st) == 10


async def test_headerless_binance_dump_in_microseconds(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """data.binance.vision files have no header; its spot files count time in microseconds."""
    async with stack(temporal_address, sqlite_url) as st:
        dump = (
            f"{T0 * 1000},100.5,101.25,99.75,100.75,12.5,{(T0 + H) * 1000 - 1},1250,10,6,600,0\n"
            f"{T0 + H},100.5,101.25,99.75,100.75,12.5,{T0 + 2 * H - 1},1250,10,6,600,0\n"
        )
        r = await st.api.post(
            "/api/klines/import?symbol=BTC&interval=1h",
            content=dump.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["format"] == "binance"
        assert await stored(st) == [candle(0), candle(1)]
