"""The read side of program backtests over rows stored directly (no engine, no worker): the
product's {backtest, metrics, trades} shape, summaries, trade pages, the equity curve thinned
keeping its extremes, decision filters, breakdowns, DELETE refused while running, and every
other user's backtest answered 404 on every path.

Why: the results are what a user judges a strategy by; a thinned curve that drops the trough
understates the drawdown, and a backtest visible to another user leaks a strategy's results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client

from db.backtest_models import BacktestRecord
from db.backtests import Results, set_status, store_results
from db.users import User
from domain.backtest import BacktestStatus
from tests.backtest_service.support import HOUR, START, new_backtest, results, trade
from tests.programs import HOLD
from tests.support.stack import DEFAULT_EMAIL, Stack, full_stack, make_settings


@pytest_asyncio.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        yield st


async def _stored(st: Stack, res: Results | None = None, status: str = "completed") -> int:
    """A backtest of the stack's user, with `res` stored as its results."""
    program = await st.create_program(HOLD)
    async with st.deps.sessions() as s:
        owner = await s.scalar(select(User.id).where(User.email == DEFAULT_EMAIL))
    assert owner is not None
    row = await new_backtest(st.deps.sessions, owner, program["id"])
    if status == "running":
        await set_status(st.deps.sessions, row.id, BacktestStatus.RUNNING)
    else:
        await store_results(
            st.deps.sessions, row.id, BacktestStatus(status), res or results(), 24, 24
        )
    return row.id


async def test_get_answers_the_products_shape(st: Stack) -> None:
    bt = await _stored(st)
    r = await st.api.get(f"/api/programs/backtest/{bt}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"backtest", "metrics", "trades"}
    b = body["backtest"]
    assert (b["id"], b["status"], b["total_pnl"], b["total_trades"], b["win_rate"]) == (
        bt, "completed", "25", 2, "1",
    )  # fmt: skip
    assert (b["progress"], b["result_hash"], b["error"]) == ("1", "ab" * 32, None)
    assert b["started_at"] and b["finished_at"]
    assert body["trades"] == [trade(0), trade(1)]
    assert body["metrics"]["total_pnl"] == "25"


async def test_a_running_backtest_has_no_results_yet(st: Stack) -> None:
    bt = await _stored(st, status="running")
    body = (await st.api.get(f"/api/programs/backtest/{bt}")).json()
    assert (body["backtest"]["status"], body["metrics"], body["trades"]) == ("running", {}, [])


async def test_list_gives_summaries_newest_first(st: Stack) -> None:
    first, second = await _stored(st), await _stored(st)
    r = await st.api.get("/api/programs/backtests", params={"limit": 10})
    assert [b["id"] for b in r.json()] == [second, first]
    assert "metrics" not in r.json()[0]
    assert len((await st.api.get("/api/programs/backtests", params={"offset": 1})).json()) == 1


async def test_list_filters_by_program(st: Stack) -> None:
    await _stored(st)
    second = await _stored(st)
    async with st.deps.sessions() as s:
        program_id = (await s.get(BacktestRecord, second)).program_id  # type: ignore[union-attr]
    r = await st.api.get("/api/programs/backtests", params={"program_id": program_id})
    assert [b["id"] for b in r.json()] == [second]


async def test_trades_page(st: Stack) -> None:
    bt = await _stored(st, results(trades=5))
    r = await st.api.get(f"/api/programs/backtest/{bt}/trades", params={"offset": 1, "limit": 2})
    body = r.json()
    assert (body["total"], body["trades"]) == (5, [trade(1), trade(2)])


async def test_equity_thinned_keeps_first_last_and_extremes(st: Stack) -> None:
    """1,000 points thinned to 20: the peak, the trough of equity and of equity_low survive."""
    curve = [[START + (i + 1) * HOUR, str(10000 + i % 7), str(9990 + i % 5)] for i in range(1000)]
    curve[413] = [curve[413][0], "12000", "11990"]  # the peak
    curve[707] = [curve[707][0], "8000", "7990"]  # the trough
    curve[708] = [curve[708][0], "9000", "7000"]  # the lowest intrabar point
    res = results()
    bt = await _stored(st, Results(res.trades, curve, res.decisions, res.metrics, "ab" * 32))
    r = await st.api.get(f"/api/programs/backtest/{bt}/equity", params={"max_points": 20})
    body = r.json()
    points = body["points"]
    assert body["total_points"] == 1000 and len(points) <= 20
    times = [p["at_ms"] for p in points]
    assert times == sorted(times) and times[0] == curve[0][0] and times[-1] == curve[-1][0]
    assert {"12000", "8000"} <= {p["equity"] for p in points}
    assert "7000" in {p["equity_low"] for p in points}
    full = (await st.api.get(f"/api/programs/backtest/{bt}/equity")).json()["points"]
    assert [Decimal(p["equity"]) for p in full] == [Decimal(c[1]) for c in curve]


@pytest.mark.parametrize(("kind", "statuses"), [
    (None, ["filled", "denied", "failed"]),
    ("non_hold", ["filled", "denied"]),
    ("denied", ["denied"]),
    ("failed", ["failed"]),
])  # fmt: skip
async def test_decisions_filter(st: Stack, kind: str | None, statuses: list[str]) -> None:
    bt = await _stored(st)
    params = {"filter": kind} if kind else {}
    r = await st.api.get(f"/api/programs/backtest/{bt}/decisions", params=params)
    assert [d["status"] for d in r.json()["decisions"]] == statuses


async def test_an_unknown_decision_filter_is_422(st: Stack) -> None:
    bt = await _stored(st)
    r = await st.api.get(f"/api/programs/backtest/{bt}/decisions", params={"filter": "holds"})
    assert r.status_code == 422 and "filter" in r.json()["error"]


async def test_breakdown_by_symbol_sums_the_trades(st: Stack) -> None:
    res = results()
    trades = [trade(0, "BTC", "10"), trade(1, "ETH", "-4"), trade(2, "BTC", "3")]
    bt = await _stored(st, Results(trades, res.equity, res.decisions, res.metrics, "ab" * 32))
    r = await st.api.get(f"/api/programs/backtest/{bt}/breakdown", params={"by": "symbol"})
    lines = {line["key"]: line for line in r.json()["lines"]}
    assert (lines["BTC"]["trades"], lines["BTC"]["total_pnl"]) == (2, "13")
    assert (lines["ETH"]["trades"], lines["ETH"]["total_pnl"]) == (1, "-4")
    r = await st.api.get(f"/api/programs/backtest/{bt}/breakdown", params={"by": "month"})
    assert [line["key"] for line in r.json()["lines"]] == ["2025-01"]


async def test_delete_is_refused_while_running(st: Stack) -> None:
    bt = await _stored(st, status="running")
    r = await st.api.delete(f"/api/programs/backtest/{bt}")
    assert (r.status_code, r.json()["code"]) == (409, "BACKTEST_RUNNING")


async def test_delete_removes_an_ended_backtest(st: Stack) -> None:
    bt = await _stored(st)
    assert (await st.api.delete(f"/api/programs/backtest/{bt}")).status_code == 204
    assert (await st.api.get(f"/api/programs/backtest/{bt}")).status_code == 404
    assert (await st.api.get(f"/api/programs/backtest/{bt}/trades")).status_code == 404


async def test_cancelling_an_ended_backtest_answers_it_as_it_is(st: Stack) -> None:
    bt = await _stored(st)
    r = await st.api.post(f"/api/programs/backtest/{bt}/cancel")
    assert (r.status_code, r.json()["backtest"]["status"]) == (200, "completed")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", ""), ("GET", "/trades"), ("GET", "/equity"), ("GET", "/decisions"),
    ("GET", "/breakdown"), ("POST", "/cancel"), ("DELETE", ""),
])  # fmt: skip
async def test_another_users_backtest_is_404(st: Stack, method: str, path: str) -> None:
    bt = await _stored(st)
    async with st.user_client("other@example.com") as other:
        r = await other.request(method, f"/api/programs/backtest/{bt}{path}")
        assert (r.status_code, r.json()["code"]) == (404, "BACKTEST_NOT_FOUND"), r.text
        assert (await other.get("/api/programs/backtests")).json() == []
    assert (await st.api.get(f"/api/programs/backtest/{bt}")).status_code == 200  # still there
