"""/api/analytics/...: how your traders did over the last `days` (README "Analytics"), computed
by the metrics module backtests use (domain/metrics.py) over the recorded round trips and the
equity history (db/analytics.py).

Every route takes `days` (1..365, default 30), `account_id` (one of your traders; another
user's answers 404 like a missing one) and `source` (paper | live | all). Money is a decimal
string, a ratio a string of 10 significant digits, and an undefined value is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.queries import get_account
from db import analytics
from db.base import utcnow
from db.models import Account, Program, PromptTemplate
from domain import metrics
from domain.equity_metrics import combine
from domain.metrics import Trip
from domain.vocabulary import AccountType, Exchange, PositionSide, Side

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

MAX_DAYS = 365
Days = Annotated[int, Query(ge=1, le=MAX_DAYS)]


class Source(StrEnum):
    PAPER = "paper"
    LIVE = "live"
    ALL = "all"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Scope:
    accounts: list[Account]
    start: datetime
    end: datetime
    trips: list[Trip]


async def _scope(
    s: SessionDep, owner: int, days: int, account_id: int | None, source: Source
) -> Scope:
    """The caller's traders the filters pick, the period, and their round trips closed in it.
    Deleted traders count: their trades happened."""
    if account_id is not None:
        accounts = [await get_account(s, account_id, owner)]
    else:
        stmt = select(Account).where(Account.owner_id == owner).order_by(Account.id)
        accounts = list(await s.scalars(stmt))
    if source is Source.PAPER:
        accounts = [a for a in accounts if a.exchange == Exchange.PAPER.value]
    elif source is Source.LIVE:
        accounts = [a for a in accounts if a.exchange != Exchange.PAPER.value]
    end = utcnow()
    start = end - timedelta(days=days)
    ids = [a.id for a in accounts]
    trips = await s.run_sync(lambda sync: analytics.round_trips(sync, ids, start, end))
    return Scope(accounts, start, end, trips)


async def _filtered(
    s: SessionDep,
    user: CurrentUser,
    days: Days = 30,
    account_id: int | None = None,
    source: Source = Source.ALL,
) -> Scope:
    """The query parameters every route takes, as the scope they pick."""
    return await _scope(s, user.id, days, account_id, source)


# Why a dependency: every route filters the same way; FastAPI documents the three parameters
# once for each route from it.
ScopeDep = Annotated[Scope, Depends(_filtered)]


async def _summary(s: SessionDep, scope: Scope, trips: list[Trip] | None = None) -> dict[str, Any]:
    ids = [a.id for a in scope.accounts]
    curves = await s.run_sync(
        lambda sync: analytics.equity_series(sync, ids, scope.start, scope.end)
    )
    curve = combine(curves) if curves else []
    values = metrics.summary(scope.trips if trips is None else trips, curve, scope.start, scope.end)
    return metrics.as_json(values)


def _line(fields: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """A breakdown line in JSON, with the product's `pnl` beside `total_pnl`."""
    out = {**fields, **metrics.as_json(line)}
    out["pnl"] = out["total_pnl"]
    return out


@router.get("/summary")
async def summary(scope: ScopeDep, s: SessionDep) -> dict[str, Any]:
    """Every metric of the period over the chosen traders: PnL, trades, win rate, Sharpe,
    Sortino, drawdown, best and worst trade, durations, returns, profit factor, expectancy,
    fees, funding. Several traders' equity is chained by returns (a trader starting mid-period
    is no gain)."""
    return await _summary(s, scope)


@router.get("/by-strategy")
async def by_strategy(scope: ScopeDep, s: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """One line per strategy (the entry decision's program or prompt; null: none, e.g. a
    manual order)."""
    lines = metrics.breakdown(scope.trips, metrics.strategy_of)
    names = await strategy_names(s, user.id, [k for k, _ in lines])
    return [
        _line({"strategy": k[0], "strategy_id": k[1], "strategy_name": names.get(k)}, line)
        for k, line in lines
    ]


async def strategy_names(
    s: SessionDep, owner: int, keys: list[tuple[str | None, int | None]]
) -> dict[tuple[str | None, int | None], str]:
    """The caller's programs' and prompts' names (none for one deleted since)."""
    out: dict[tuple[str | None, int | None], str] = {}
    for kind, model in ((AccountType.PROGRAM, Program), (AccountType.PROMPT, PromptTemplate)):
        ids = [i for k, i in keys if k == kind and i is not None]
        if ids:
            stmt = select(model.id, model.name).where(model.id.in_(ids), model.owner_id == owner)
            out.update(((kind, r.id), r.name) for r in await s.execute(stmt))
    return out


@router.get("/by-account")
async def by_account(scope: ScopeDep, s: SessionDep) -> list[dict[str, Any]]:
    """One line per trader that closed a trade in the period, with its own Sharpe and drawdown."""
    names = {a.id: a.name for a in scope.accounts}
    out = []
    for acct, line in metrics.breakdown(scope.trips, lambda t: t.account_id):
        own = Scope([a for a in scope.accounts if a.id == acct], scope.start, scope.end, [])
        whole = await _summary(s, own, [t for t in scope.trips if t.account_id == acct])
        fields = {"account_id": acct, "account_name": names.get(acct)}
        extra = {k: whole[k] for k in ("sharpe_ratio", "max_drawdown_pct")}
        out.append({**_line(fields, line), **extra})
    return out


@router.get("/by-symbol")
async def by_symbol(scope: ScopeDep) -> list[dict[str, Any]]:
    """One line per symbol."""
    return [_line({"symbol": k}, line) for k, line in metrics.breakdown(scope.trips, _symbol)]


@router.get("/by-operation")
async def by_operation(scope: ScopeDep) -> list[dict[str, Any]]:
    """One line per direction: `operation` buy (long positions) or sell (short ones)."""
    lines = metrics.breakdown(scope.trips, _side)
    return [_line({"operation": _OPERATION.get(k), "side": k}, line) for k, line in lines]


@router.get("/by-trigger-type")
async def by_trigger_type(scope: ScopeDep) -> list[dict[str, Any]]:
    """One line per trigger type of the entry decision (null: no decision, e.g. a fill learnt
    from the venue)."""
    lines = metrics.breakdown(scope.trips, _trigger)
    return [_line({"trigger_type": k}, line) for k, line in lines]


@router.get("/by-exit-reason")
async def by_exit_reason(scope: ScopeDep) -> list[dict[str, Any]]:
    """One line per exit reason (decision, take_profit, stop_loss, liquidation, ...)."""
    lines = metrics.breakdown(scope.trips, _exit)
    return [_line({"exit_reason": k}, line) for k, line in lines]


@router.get("/by-period")
async def by_period(scope: ScopeDep, period: Period = Period.DAY) -> list[dict[str, Any]]:
    """One line per UTC day, week (named by its Monday) or month the trades closed in."""
    lines = metrics.breakdown(scope.trips, metrics.by_period(period.value))
    return [_line({"period": k}, line) for k, line in lines]


_OPERATION = {PositionSide.LONG.value: Side.BUY.value, PositionSide.SHORT.value: Side.SELL.value}


def _symbol(t: Trip) -> str:
    return t.symbol


def _side(t: Trip) -> str:
    return t.side


def _trigger(t: Trip) -> str | None:
    return t.trigger_type


def _exit(t: Trip) -> str:
    return t.exit_reason
