"""A long history streams: the export is written a page at a time as it is read, so what the
API holds stays flat (a few MB here, for an export of ~20 MB) however long the history, and the
whole history still arrives."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert
from temporalio.client import Client

from db.tables import DECISIONS, TRADES
from tests.support.live import token_of
from tests.support.stack import Stack, full_stack, make_settings

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DECISIONS_N, FILLS_N = 1500, 20_000
PROMPT = "You trade BTC. " * 700  # ~10 KB of prompt per decision
MB = 1024 * 1024


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def _long_history(st: Stack, tid: int) -> None:
    decisions = [
        {"id": f"dec-{tid}-{i}", "account_id": tid, "seq": i, "trigger_type": "manual",
         "status": "hold", "created_at": T0 + timedelta(minutes=i),
         "completed_at": T0 + timedelta(minutes=i, seconds=1),
         "llm_exchange": {"prompt": PROMPT, "raw_answer": f'{{"operation": "hold", "n": {i}}}'},
         "trigger_key": f"manual-{i}"}
        for i in range(DECISIONS_N)
    ]  # fmt: skip
    fills = [
        {"account_id": tid, "trade_id": f"t{i}", "symbol": "BTC", "side": "buy" if i % 2 else
         "sell", "size": Decimal("0.01"), "price": Decimal(65000 + i), "fee": Decimal("0.2"),
         "realized_pnl": Decimal(0), "created_at": T0 + timedelta(seconds=i)}
        for i in range(FILLS_N)
    ]  # fmt: skip
    async with st.app.state.sessions() as s, s.begin():
        await s.execute(insert(DECISIONS), decisions)
        await s.execute(insert(TRADES), fills)


async def _drain(st: Stack, path: str) -> dict[str, Any]:
    """GET `path` through the app itself, reading the body as it is sent and keeping none of it
    (an ASGI client that buffers would hold it all)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("test", 80),
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {token_of(st)}".encode())],
    }  # fmt: skip
    done = asyncio.Event()
    got: dict[str, Any] = {"chunks": 0, "bytes": 0, "tail": b""}

    async def receive() -> dict[str, Any]:
        if "asked" not in got:
            got["asked"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            got["chunks"] += bool(body)
            got["bytes"] += len(body)
            got["tail"] = (got["tail"] + body)[-64:]
            if not message.get("more_body", False):
                done.set()

    await st.app(scope, receive, send)
    return got


async def test_a_long_history_streams_with_flat_memory(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    await _long_history(st, tid)
    for path in (f"/api/account/{tid}/export.json", f"/api/account/{tid}/export/decisions.csv"):
        await _drain(st, path)  # warm: compiled statements and caches are not the export's
        tracemalloc.start()
        try:
            got = await _drain(st, path)
            held = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert got["status"] == 200 and got["bytes"] > 15 * MB, (path, got)
        assert got["chunks"] > 50, got  # written as it is read, not as one body
        assert held < 5 * MB, f"{path}: {held / MB:.1f} MB held at the peak"
        assert got["tail"].endswith(b"}\n" if path.endswith(".json") else b"\r\n"), got
    doc = (await st.api.get(f"/api/account/{tid}/export.json")).json()
    assert len(doc["decisions"]) == DECISIONS_N and len(doc["fills"]) == FILLS_N
    assert doc["decisions"][-1]["llm_exchange"]["prompt"] == PROMPT
    assert [f["trade_id"] for f in doc["fills"][:2]] == ["t0", "t1"]
