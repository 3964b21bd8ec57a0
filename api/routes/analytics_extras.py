"""/api/analytics/ai-attribution, /programs and /trades/{id}/replay (README "Analytics"): what
the summary and the breakdowns do not say. Same filters as api/routes/analytics.py (`days`,
`account_id`, `source`); the rules are in domain/attribution.py and domain/trade_replay.py, the
queries in db/analytics_decisions.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from adapters.market.snapshot import now_ms
from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import not_found
from api.queries import MAX_ID, decisions_out, get_owned, round_trip_dict, trade_dict
from api.routes.analytics import Scope, ScopeDep, strategy_names
from db import analytics_decisions as rows
from db.models import Account, Program, PromptTemplate
from domain import attribution as attr
from domain import trade_replay as replay
from domain.market import Candle, Interval, parse_interval
from domain.metrics import Trip, as_json
from domain.vocabulary import AccountType, Exchange

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

MAX_HORIZON = 500
Horizon = Annotated[int, Query(ge=1, le=MAX_HORIZON)]
StrategyId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _interval(text: str | None) -> Interval | None:
    try:
        return parse_interval(text or "")
    except ValueError:
        return None


def _sources(request: Request, acct: Account) -> list[str]:
    return replay.source_preference(acct.exchange, request.app.state.feed.name, Exchange.PAPER)


def _round_trip_cost(request: Request) -> Decimal:
    """2 x the taker fee, as a fraction (a round trip's entry and exit at market)."""
    return 2 * Decimal(request.app.state.settings.paper_taker_fee_bps) / 10000


async def _forward_bars(
    s: SessionDep,
    decisions: Sequence[attr.DecisionFacts],
    horizon: int,
) -> dict[tuple[str, str], dict[str, dict[int, Candle]]]:
    """The stored bars the decisions' forward windows need: (symbol, interval) -> by source."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for d in decisions:
        iv = _interval(d.interval)
        if iv is None:
            continue
        first, last = attr.forward_window(attr.at_ms(d.at), iv.ms, horizon)
        for sym in (d.symbol,) if d.symbol else d.symbols:
            lo, hi = spans.get((sym, iv.value), (first, last))
            spans[(sym, iv.value)] = (min(lo, first), max(hi, last))
    out = {}
    for (sym, iv_text), (lo, hi) in sorted(spans.items()):
        out[(sym, iv_text)] = await s.run_sync(
            partial(rows.candles, symbol=sym, interval=iv_text, first_ms=lo, last_ms=hi)
        )
    return out


@router.get("/ai-attribution")
async def ai_attribution(
    scope: ScopeDep,
    s: SessionDep,
    user: CurrentUser,
    request: Request,
    horizon: Horizon = 4,
    prompt_id: StrategyId = None,
) -> dict[str, Any]:
    """For prompt traders: decision accuracy against forward returns, the metrics line per LLM
    model and per market regime at entry (rules: domain/attribution.py). `prompt_id`: only the
    decisions of that prompt of yours."""
    if prompt_id is not None:
        await get_owned(s, PromptTemplate, prompt_id, user.id, AccountType.PROMPT.value)
    accounts = {a.id: a for a in scope.accounts}
    ids = list(accounts)
    decisions = await s.run_sync(
        lambda sync: rows.decisions(sync, ids, scope.start, scope.end, prompts=True)
    )
    decisions = [d for d in decisions if prompt_id in (None, d.prompt_id)]
    bars = await _forward_bars(s, decisions, horizon)
    cost = _round_trip_cost(request)

    def verdict(d: attr.DecisionFacts) -> bool | None:
        iv = _interval(d.interval)
        if iv is None:
            return None
        order = _sources(request, accounts[d.account_id])

        def returns(sym: str) -> Decimal | None:
            stored = bars.get((sym, iv.value), {})
            ranked = [stored[x] for x in order if x in stored]
            ranked += [stored[x] for x in sorted(stored) if x not in order]
            return attr.forward_return(ranked, attr.at_ms(d.at), iv.ms, horizon)

        return attr.correct(d, returns, cost)

    per_trader = attr.group(decisions, lambda d: d.account_id)
    trips = [
        (t, f)
        for t, f in await _entry_facts(s, ids, scope)
        if f.prompt_id is not None and prompt_id in (None, f.prompt_id)
    ]
    return {
        "horizon": horizon,
        "round_trip_cost_pct": as_json({"c": cost * 100})["c"],
        "accuracy": {
            "overall": attr.accuracy(decisions, verdict),
            "by_trader": [
                {
                    "account_id": a,
                    "account_name": accounts[a].name,
                    **attr.accuracy(per_trader[a], verdict),
                }
                for a in sorted(per_trader)
            ],
        },
        "models": attr.model_lines([(t, f.model) for t, f in trips], decisions),
        "regimes": attr.regime_lines(await _regimes(s, trips)),
    }


async def _entry_facts(
    s: SessionDep, ids: list[int], scope: Scope
) -> list[tuple[Trip, attr.DecisionFacts]]:
    """The round trips closed in the period that a decision opened, with that decision's facts
    (by the round trip's own link)."""
    linked = await s.run_sync(lambda sync: rows.linked_trips(sync, ids, scope.start, scope.end))
    entry_ids = [e for _, e in linked if e]
    facts = await s.run_sync(lambda sync: rows.decision_facts(sync, entry_ids))
    return [(t, facts[e]) for t, e in linked if e in facts]


async def _regimes(
    s: SessionDep, trips: Sequence[tuple[Trip, attr.DecisionFacts]]
) -> list[tuple[Trip, str]]:
    by_symbol: dict[str, list[str]] = {}
    for trip, f in trips:
        by_symbol.setdefault(trip.symbol, []).append(f.id)
    klines = await s.run_sync(
        lambda sync: rows.snapshot_candles(sync, by_symbol, attr.REGIME_INTERVAL)
    )
    return [(t, attr.regime_label(klines.get((f.id, t.symbol)))) for t, f in trips]


@router.get("/programs")
async def programs(
    scope: ScopeDep, s: SessionDep, user: CurrentUser, program_id: StrategyId = None
) -> list[dict[str, Any]]:
    """One line per program that ran in the period: executions, run times, the decisions'
    distribution and error codes, and the metrics line of the round trips they opened.
    `program_id`: only that program of yours."""
    if program_id is not None:
        await get_owned(s, Program, program_id, user.id, AccountType.PROGRAM.value)
    ids = [a.id for a in scope.accounts]
    decisions = await s.run_sync(
        lambda sync: rows.decisions(sync, ids, scope.start, scope.end, prompts=False)
    )
    trips_of: dict[int, list[Trip]] = {}
    for trip, f in await _entry_facts(s, ids, scope):
        if f.program_id is not None:
            trips_of.setdefault(f.program_id, []).append(trip)
    runs = attr.group(decisions, lambda d: d.program_id)
    if program_id is not None:
        runs = {p: r for p, r in runs.items() if p == program_id}
        trips_of = {p: t for p, t in trips_of.items() if p == program_id}
    names = await _program_names(s, user.id, sorted(set(runs) | set(trips_of)))
    return [
        {
            "program_id": p,
            "program_name": names.get(p),
            **attr.program_line(runs.get(p, []), trips_of.get(p, [])),
        }
        for p in sorted(set(runs) | set(trips_of))
    ]


async def _program_names(s: SessionDep, owner: int, ids: list[int]) -> Mapping[int, str]:
    found = await strategy_names(s, owner, [(AccountType.PROGRAM.value, i) for i in ids])
    return {i: name for (_, i), name in found.items() if i is not None}


@router.get("/trades/{trade_id}/replay")
async def trade_replay(
    trade_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    s: SessionDep,
    user: CurrentUser,
    request: Request,
) -> dict[str, Any]:
    """One round trip with its fills, its entry and exit decisions and the stored candles around
    it (never fetched from a venue here). Another user's round trip is a missing one."""
    found = await s.run_sync(lambda sync: rows.owned_trip(sync, trade_id, user.id))
    if found is None:
        raise not_found("round_trip", trade_id)
    trip, acct = found
    fills = await s.run_sync(lambda sync: rows.trip_fills(sync, trip))
    by_id = await s.run_sync(lambda sync: rows.trip_decisions(sync, trip))
    shown = {d.id: d for d in await decisions_out(s, list(by_id.values()), True)}

    def side(decision_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
        row = by_id.get(decision_id or "")
        if row is None:
            return None, None
        origin = replay.decision_origin(row.trigger_type, row.output, row.llm_exchange)
        out = shown[row.id].model_dump(mode="json")
        out.update(origin=origin, reasoning=replay.reasoning(row.output, row.llm_exchange))
        return origin, out

    entry_from, entry = side(trip.entry_decision_id)
    exit_from, exit_ = side(trip.exit_decision_id)
    snapshot = (entry or {}).get("input_snapshot") or {}
    opened_ms, closed_ms = attr.at_ms(trip.opened_at), attr.at_ms(trip.closed_at)
    decided = _interval(snapshot.get("default_interval")) or Interval.H1
    iv = replay.replay_interval(opened_ms, closed_ms, decided)
    win = replay.window(opened_ms, closed_ms, iv.ms, now_ms())
    stored = await s.run_sync(
        lambda sync: rows.candles(sync, trip.symbol, iv.value, win.first_ms, win.last_ms)
    )
    source, candles = replay.pick_source(stored, _sources(request, acct))
    return {
        "trade": round_trip_dict(trip),
        "fills": [trade_dict(f) for f in fills],
        "opened_by": {"origin": replay.entry_origin(entry_from), "decision": entry},
        "closed_by": {"origin": replay.exit_origin(trip.exit_reason, exit_from), "decision": exit_},
        "candles": {
            "interval": iv.value,
            "source": source,
            "start": win.first_ms,
            "end": win.last_ms,
            "expected": win.expected,
            "candles_missing": len(candles) < win.expected,
            "candles": [replay.candle_json(c) for c in candles],
        },
    }
