"""The backtest pages (`/backtests`, `/backtests/{id}`): a form that runs a program backtest
through the same route function as POST /api/programs/backtest, the list of your runs, and a
run's page: its progress (polled over plain HTTP every second: the live stream has no backtest
events) with Cancel, then its results as GET /api/programs/backtest/{id}, .../equity,
.../decisions and .../breakdown answer them. Another user's backtest is the 404 page."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.backtest_schemas import BacktestRequest, backtest_out, result_out
from api.errors import ApiError
from api.queries import MAX_ID, listed_accounts
from api.routes import backtest_results as results_routes
from api.routes import backtests as backtest_routes
from api.routes import prompt_backtest as prompt_routes
from api.web.backtest_form import FIELDS, blank_form, field_of, request_body
from api.web.figures import chart_json, html
from api.web.login import SignedIn, checked_form
from api.web.traders import PageNotFound
from db.backtest_history import candle_series, candle_source
from db.backtests import list_backtests, trades
from db.models import Program
from domain.backtest import BacktestStatus
from domain.market import parse_interval

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 50
EQUITY_POINTS = 1000
MAX_CHART_CANDLES = 5000


async def _choices(request: Request, who: SignedIn) -> dict[str, Any]:
    async with request.app.state.sessions() as s:
        programs = list(
            await s.execute(
                select(Program.id, Program.name)
                .where(Program.owner_id == who.caller.id)
                .order_by(Program.id)
            )
        )
        traders = await listed_accounts(s, who.caller.id)
    return {
        "programs": [{"id": p.id, "name": p.name} for p in programs],
        "traders": [{"id": a.id, "name": a.name} for a in traders],
    }


async def _list_page(
    request: Request, who: SignedIn, form: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    rows = await list_backtests(request.app.state.sessions, who.caller.id, None, LIST_LIMIT, 0)
    tasks = await prompt_routes.list_tasks(request, who.caller)
    return html(
        request, "backtests.html", status=status, who=who, runs=[backtest_out(r) for r in rows],
        tasks=tasks,
        form=form, errors=errors, fields=FIELDS, **await _choices(request, who),
    )  # fmt: skip


@router.get("/backtests", response_class=HTMLResponse)
async def backtests_page(request: Request, who: SignedIn) -> Response:
    return await _list_page(request, who, blank_form(), {}, 200)


@router.post("/backtests", response_class=HTMLResponse)
async def run_backtest(request: Request, who: SignedIn) -> Response:
    """Start a run as POST /api/programs/backtest does; its errors next to their fields."""
    form = await checked_form(request, who)
    try:
        body = BacktestRequest.model_validate(request_body(form))
    except ValidationError as err:
        errors: dict[str, str] = {}
        for e in err.errors():
            msg = str(e.get("msg", "invalid"))
            # The range rule names no field of its own: it reads best beside the end date.
            field = field_of(e.get("loc", ())) or ("end_date" if "end_date" in msg else "")
            errors.setdefault(field, msg)
        return await _list_page(request, who, form, errors, 422)
    try:
        answer = await backtest_routes.start_backtest(request, body, who.caller)
    except ApiError as err:
        return await _list_page(request, who, form, {field_of(err): err.message}, err.status)
    backtest_id = json.loads(bytes(answer.body))["backtest"]["id"]
    return Response(status_code=303, headers={"Location": f"/backtests/{int(backtest_id)}"})


async def _owned(request: Request, who: SignedIn, backtest_id: int) -> Any:
    if not 0 < backtest_id <= MAX_ID:
        raise PageNotFound()
    try:
        return await backtest_routes.owned(request, backtest_id, who.caller.id)
    except ApiError as err:
        raise PageNotFound() from err


async def _results(request: Request, who: SignedIn, row: Any) -> dict[str, Any]:
    """What the REST routes answer for an ended run (the same functions)."""
    user, bt = who.caller, row.id
    answer = result_out(row, await trades(request.app.state.sessions, bt))
    breakdowns = {
        by: (await results_routes.backtest_breakdown(request, bt, user, by))["lines"]
        for by in ("symbol", "exit_reason", "side")
    }
    denied = await results_routes.backtest_decisions(request, bt, user, "denied", 0, 100)
    failed = await results_routes.backtest_decisions(request, bt, user, "failed", 0, 100)
    return {
        **answer,
        "breakdowns": breakdowns,
        "denied": denied["decisions"],
        "failed": failed["decisions"],
    }


@router.get("/backtests/compare", response_class=HTMLResponse)
async def compare_page(request: Request, who: SignedIn) -> Response:
    """Two ended runs side by side: their metrics, and both equity curves on one chart."""
    ids = [int(v) for v in request.query_params.getlist("id") if v.isdigit()][:2]
    if len(ids) != 2:
        return await _list_page(
            request, who, blank_form(), {"": "Tick exactly two backtests to compare."}, 422
        )
    runs = []
    for backtest_id in ids:
        row = await _owned(request, who, backtest_id)
        runs.append(result_out(row, []))
    keys = [k for k in runs[0]["metrics"] if not isinstance(runs[0]["metrics"][k], dict | list)]
    keys += [
        k for k in runs[1]["metrics"]
        if k not in keys and not isinstance(runs[1]["metrics"][k], dict | list)
    ]  # fmt: skip
    return html(request, "backtest_compare.html", who=who, runs=runs, keys=keys)


@router.get("/backtests/{backtest_id}", response_class=HTMLResponse)
async def backtest_page(request: Request, who: SignedIn, backtest_id: int) -> Response:
    row = await _owned(request, who, backtest_id)
    final = BacktestStatus(row.status).final
    found = await _results(request, who, row) if final else result_out(row, [])
    return html(request, "backtest.html", who=who, bt=found["backtest"], final=final, res=found)


@router.get("/backtests/{backtest_id}/progress", response_class=HTMLResponse)
async def backtest_progress(request: Request, who: SignedIn, backtest_id: int) -> Response:
    """The progress box, polled by the run's page; once the run ended, the page reloads."""
    row = await _owned(request, who, backtest_id)
    response = html(request, "backtest_progress.html", who=who, bt=backtest_out(row))
    if BacktestStatus(row.status).final:
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/backtests/{backtest_id}/cancel", response_class=HTMLResponse)
async def cancel_backtest(request: Request, who: SignedIn, backtest_id: int) -> Response:
    await checked_form(request, who)
    row = await _owned(request, who, backtest_id)
    await backtest_routes.cancel_backtest(request, row.id, who.caller)
    return Response(status_code=204, headers={"HX-Refresh": "true"})


@router.get("/backtests/{backtest_id}/chart.json")
async def backtest_chart(request: Request, who: SignedIn, backtest_id: int) -> Response:
    """The charts' data: the equity curve as GET .../equity answers it, the first symbol's
    stored candles over the run (from the source the run read) and one marker per trade."""
    row = await _owned(request, who, backtest_id)
    curve = await results_routes.backtest_equity(request, row.id, who.caller, EQUITY_POINTS)
    run = (row.config or {}).get("run") or {}
    symbols = list(run.get("symbols") or [])
    out: dict[str, Any] = {
        "equity": [{"time": p["at_ms"] // 1000, "value": p["equity"]} for p in curve["points"]],
        "symbol": symbols[0] if symbols else None,
        "candles": [],
        "markers": [],
    }
    if symbols and run.get("interval"):
        out.update(await _candles_and_markers(request, row.id, run, symbols[0]))
    return chart_json(out)


async def _candles_and_markers(
    request: Request, backtest_id: int, run: dict[str, Any], symbol: str
) -> dict[str, Any]:
    iv = parse_interval(run["interval"])
    lo, hi = int(run["start_ms"]), int(run["end_ms"]) + iv.ms
    async with request.app.state.sessions() as s:
        source = await candle_source(s, symbol, iv, lo, hi)
        bars = await candle_series(s, source, symbol, iv, lo, hi) if source else []
    step = max(1, -(-len(bars) // MAX_CHART_CANDLES))
    candles = [
        {"time": c.open_time_ms // 1000, "open": str(c.open), "high": str(c.high),
         "low": str(c.low), "close": str(c.close)}
        for c in bars[::step]
    ]  # fmt: skip
    markers = []
    for t in await trades(request.app.state.sessions, backtest_id):
        if t.get("symbol") != symbol or t.get("opened_at_ms") is None:
            continue
        at = int(t["opened_at_ms"]) // 1000
        at -= at % (iv.ms // 1000 * step)  # on its bar: a marker off the series is not drawn
        markers.append({"time": at, "side": t.get("side"), "pnl": t.get("net_pnl") or t.get("pnl")})
    return {"candles": candles, "markers": markers}
