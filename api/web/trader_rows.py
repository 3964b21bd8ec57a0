"""What a row of the AI Traders screen shows, read through the helpers the REST routes use:
`/overview` (api/trader_state.py), the asset curve (api/equity.py), the decision log, the
bindings and the workflow's `status` query. No number here is computed another way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from api.equity import asset_curves
from api.queries import account_out
from api.schemas import AccountOut, OverviewOut
from api.trader_state import overview_of
from db.models import Account, Binding, DecisionRecord, Program
from domain.equity import Timeframe
from domain.vocabulary import AccountType, Exchange, ExchangeEnvironment

log = logging.getLogger("hyperoru.api.web")
STATUS_TIMEOUT_S = 1.0  # a worker answers in milliseconds; none: the row shows no ETA
SPARK_W, SPARK_H = 120, 28


@dataclass(frozen=True)
class LastDecision:
    at: datetime
    status: str
    operation: str
    symbol: str
    reasoning: str  # untrusted model or program text: the template escapes it


@dataclass(frozen=True)
class TraderRow:
    account: AccountOut
    overview: OverviewOut | None  # None: its venue or prices did not answer (`problem` says)
    problem: str
    pnl_today: Decimal | None
    environment: str  # paper | testnet | mainnet
    strategy: str  # the model, or the bound programs
    last_decision: LastDecision | None
    next_trigger_at: datetime | None
    spark: str  # SVG polyline points, "" when there is no curve yet


def environment_of(a: Account) -> str:
    if a.exchange == Exchange.PAPER:
        return Exchange.PAPER.value
    return a.exchange_environment or ExchangeEnvironment.MAINNET.value


def spark_points(values: Sequence[Decimal]) -> str:
    """The curve scaled into a SPARK_W x SPARK_H box (a flat line for a flat curve)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = high - low or Decimal(1)
    step = Decimal(SPARK_W) / (len(values) - 1)
    return " ".join(
        f"{float(i * step):.1f},{float(SPARK_H - 2 - (v - low) / span * (SPARK_H - 4)):.1f}"
        for i, v in enumerate(values)
    )


async def _strategies(s: AsyncSession, accounts: Sequence[Account]) -> dict[int, str]:
    ids = [a.id for a in accounts]
    found = await s.execute(
        select(Binding.account_id, Program.name)
        .join(Program, Program.id == Binding.program_id)
        .where(Binding.account_id.in_(ids), Binding.enabled.is_(True))
        .order_by(Binding.id)
    )
    programs: dict[int, list[str]] = {}
    for account_id, name in found.all():
        programs.setdefault(account_id, []).append(name)
    out = {}
    for a in accounts:
        if a.account_type == AccountType.PROMPT:
            out[a.id] = " / ".join(p for p in (a.llm_provider, a.llm_model) if p) or "no model set"
        else:
            out[a.id] = ", ".join(programs.get(a.id, [])) or "no program bound"
    return out


async def _last_decisions(s: AsyncSession, ids: list[int]) -> dict[int, LastDecision]:
    """Each trader's newest decision log entry."""
    newest = (
        select(DecisionRecord.account_id, func.max(DecisionRecord.created_at).label("at"))
        .where(DecisionRecord.account_id.in_(ids))
        .group_by(DecisionRecord.account_id)
        .subquery()
    )
    found = await s.scalars(
        select(DecisionRecord).join(
            newest,
            (DecisionRecord.account_id == newest.c.account_id)
            & (DecisionRecord.created_at == newest.c.at),
        )
    )
    out = {}
    for r in found:
        decision = (r.output or {}).get("decision") or {}
        out[r.account_id] = LastDecision(
            at=r.created_at,
            status=r.status,
            operation=str(decision.get("operation") or ""),
            symbol=str(decision.get("symbol") or ""),
            reasoning=str(decision.get("reasoning") or r.error or "")[:300],
        )
    return out


async def _next_trigger(conn: HTTPConnection, a: Account) -> datetime | None:
    """The soonest scheduled run the trader's workflow reports (None: none, or paused)."""
    if not a.trading_enabled or a.is_deleted:
        return None
    try:
        view = await asyncio.wait_for(conn.app.state.control.status(a.id), STATUS_TIMEOUT_S)
    except Exception as err:  # not running, or Temporal away: the row shows no ETA
        log.info("account %s: no schedule state: %s", a.id, type(err).__name__)
        return None
    dues = [sched.next_due for sched in view.schedules]
    return min(dues) if dues else None


async def _overview(
    conn: HTTPConnection, s: AsyncSession, a: Account
) -> tuple[OverviewOut | None, str]:
    try:
        return await overview_of(conn, s, a), ""
    except Exception as err:  # venues and market data fail in open-ended ways (api/market.py)
        log.warning("account %s: no overview: %s", a.id, type(err).__name__)
        return None, "Prices or the venue did not answer: values are not current."


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(0), tzinfo=UTC)


async def trader_rows(
    conn: HTTPConnection, s: AsyncSession, accounts: Sequence[Account]
) -> list[TraderRow]:
    if not accounts:
        return []
    ids = [a.id for a in accounts]
    strategies = await _strategies(s, accounts)
    last = await _last_decisions(s, ids)
    overviews = [await _overview(conn, s, a) for a in accounts]  # one session: one at a time
    try:
        _, curves = await asset_curves(s, conn.app.state.exchange, accounts, Timeframe.H1)
        points = {c.account_id: c.points for c in curves}
    except Exception as err:
        log.warning("no asset curves: %s", type(err).__name__)
        points = {}
    nexts = await asyncio.gather(*(_next_trigger(conn, a) for a in accounts))
    midnight = _day_start(datetime.now(UTC))
    rows = []
    for a, (ov, problem), next_at in zip(accounts, overviews, nexts, strict=True):
        curve = points.get(a.id, [])
        before = [p.equity for p in curve if p.time < midnight]
        baseline = before[-1] if before else a.initial_capital
        rows.append(
            TraderRow(
                account=account_out(a),
                overview=ov,
                problem=problem,
                pnl_today=None if ov is None else ov.equity - baseline,
                environment=environment_of(a),
                strategy=strategies[a.id],
                last_decision=last.get(a.id),
                next_trigger_at=next_at,
                spark=spark_points([p.equity for p in curve]),
            )
        )
    return rows
