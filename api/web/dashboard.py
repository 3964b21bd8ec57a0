"""The dashboard (`/dashboard`): every trader's equity curve on one chart (5m, 1h or 1d, as
GET /api/account/asset-curve answers), a leaderboard (equity and total PnL as `/overview`, win
rate, trades, fees and max drawdown as GET /api/analytics/by-account over the chosen days),
and a live feed with tabs Trades / Model chat / Positions and a trader filter. The page's
module re-renders the feed and the leaderboard from the server on every `/ws` event."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import SessionDep
from api.errors import ApiError
from api.queries import MAX_ID, get_account, listed_accounts, trade_dict
from api.routes import analytics as analytics_routes
from api.routes import equity as equity_routes
from api.schemas import OverviewOut, PositionOut
from api.trader_state import overview_of, positions_of
from api.web.figures import chart_json, html
from api.web.login import SignedIn
from api.web.traders import PageNotFound
from db.models import Account, DecisionRecord, TradeRecord
from domain.equity import Timeframe

router = APIRouter(include_in_schema=False)
FEED_LIMIT = 50
Tab = Literal["trades", "chat", "positions"]
Days = Annotated[int, Query(ge=1, le=analytics_routes.MAX_DAYS)]
AccountQuery = Annotated[int | None, Query(gt=0, le=MAX_ID)]


@dataclass(frozen=True)
class Leader:
    account_id: int
    name: str
    overview: OverviewOut | None  # None: its venue or prices did not answer
    line: dict[str, Any]  # GET /api/analytics/by-account's line ({} without a closed trade)


async def _leaders(request: Request, s: SessionDep, who: SignedIn, days: int) -> list[Leader]:
    accounts = await listed_accounts(s, who.caller.id)
    # The analytics routes' own filter dependency: the same traders, period and trips.
    scope = await analytics_routes._filtered(s, who.caller, days, None, analytics_routes.Source.ALL)
    lines = {line["account_id"]: line for line in await analytics_routes.by_account(scope, s)}
    out = []
    for a in accounts:
        try:
            ov: OverviewOut | None = await overview_of(request, s, a)
        except Exception:  # venues and market data fail in open-ended ways (api/market.py)
            ov = None
        out.append(Leader(a.id, a.name, ov, lines.get(a.id, {})))

    def rank(x: Leader) -> Decimal:
        return x.overview.total_pnl if x.overview else Decimal("-1e30")

    return sorted(out, key=rank, reverse=True)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, s: SessionDep, who: SignedIn) -> Response:
    accounts = await listed_accounts(s, who.caller.id)
    return html(
        request, "dashboard.html", who=who, days=30, timeframes=[t.value for t in Timeframe],
        traders=[{"id": a.id, "name": a.name} for a in accounts],
        leaders=await _leaders(request, s, who, 30),
        feed=await _feed(request, s, who, "trades", None), tab="trades",
    )  # fmt: skip


@router.get("/dashboard/leaderboard", response_class=HTMLResponse)
async def leaderboard(request: Request, s: SessionDep, who: SignedIn, days: Days = 30) -> Response:
    leaders = await _leaders(request, s, who, days)
    return html(request, "dashboard_leaderboard.html", who=who, leaders=leaders, days=days)


@router.get("/dashboard/curves.json")
async def curves(
    request: Request, s: SessionDep, who: SignedIn, timeframe: Timeframe = Timeframe.H1
) -> Response:
    """GET /api/account/asset-curve's answer (the same function), for the overlay chart."""
    out = await equity_routes.all_asset_curves(s, request, who.caller, timeframe)
    return chart_json(out.model_dump(mode="json"))


async def _accounts(s: SessionDep, who: SignedIn, account_id: int | None) -> list[Account]:
    if account_id is None:
        return list(await listed_accounts(s, who.caller.id))
    try:
        return [await get_account(s, account_id, who.caller.id)]
    except ApiError as err:
        raise PageNotFound() from err


async def _feed(
    request: Request, s: SessionDep, who: SignedIn, tab: Tab, account_id: int | None
) -> dict[str, Any]:
    accounts = await _accounts(s, who, account_id)
    names = {a.id: a.name for a in accounts}
    ids = list(names)
    items: list[dict[str, Any]] = []
    if tab == "trades" and ids:
        found = await s.scalars(
            select(TradeRecord)
            .where(TradeRecord.account_id.in_(ids))
            .order_by(TradeRecord.created_at.desc(), TradeRecord.id.desc())
            .limit(FEED_LIMIT)
        )
        items = [{"account_id": t.account_id, "at": t.created_at, **trade_dict(t)} for t in found]
    elif tab == "chat" and ids:
        found_d = await s.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.account_id.in_(ids))
            .order_by(DecisionRecord.created_at.desc())
            .limit(FEED_LIMIT)
        )
        for r in found_d:
            decision = (r.output or {}).get("decision") or {}
            items.append({
                "id": r.id, "account_id": r.account_id, "at": r.created_at, "status": r.status,
                "trigger": r.trigger_type, "operation": str(decision.get("operation") or ""),
                "symbol": str(decision.get("symbol") or ""),
                "reasoning": str(decision.get("reasoning") or r.error or "")[:500],
            })  # fmt: skip
    elif tab == "positions":
        for a in accounts:
            try:
                held: list[PositionOut] = (await positions_of(request, a)).positions
            except Exception:  # its venue or prices did not answer: shown as such
                items.append({"account_id": a.id, "problem": True})
                continue
            items += [{"account_id": a.id, "position": p} for p in held]
    return {"items": items, "names": names, "tab": tab, "account_id": account_id}


@router.get("/dashboard/feed", response_class=HTMLResponse)
async def feed(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    tab: Tab = "trades",
    account_id: AccountQuery = None,
) -> Response:
    found = await _feed(request, s, who, tab, account_id)
    return html(request, "dashboard_feed.html", who=who, feed=found, tab=tab)
