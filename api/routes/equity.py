"""/api/account/.../asset-curve: equity history, downsampled, ending with the equity now
(api/equity.py)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.equity import (
    AssetCurveOut,
    AssetCurvesOut,
    current_point,
    current_points,
    curve_range,
    trader_curve,
)
from api.exact_json import ExactNumbersRoute
from api.queries import get_account
from db import equity
from db.base import utcnow
from db.models import Account
from domain.equity import EquityPoint, Timeframe

# Why its own router, included before the accounts router: `/api/account/asset-curve` must not
# reach `/api/account/{account_id}` (an id that is not a number is a 422 there).
router = APIRouter(prefix="/api/account", tags=["equity"], route_class=ExactNumbersRoute)


@router.get("/asset-curve", response_model=AssetCurvesOut)
async def asset_curves(
    s: SessionDep,
    request: Request,
    user: CurrentUser,
    timeframe: Timeframe = Timeframe.M5,
    start: datetime | None = None,
    end: datetime | None = None,
    include_hidden: bool = False,
) -> AssetCurvesOut:
    """Every one of your traders' equity curves (as `/list` shows them: deleted and hidden ones
    only with include_hidden=true): the last point of each `timeframe` bucket from `start` to
    `end` (default: the timeframe's usual window up to now), the last point the equity now."""
    span = curve_range(timeframe, start, end, utcnow())
    stmt = select(Account).where(Account.owner_id == user.id).order_by(Account.id)
    if not include_hidden:
        stmt = stmt.where(Account.is_deleted.is_(False), Account.show_on_dashboard.is_(True))
    accounts = list(await s.scalars(stmt))
    ids = [a.id for a in accounts]
    stored = await s.run_sync(
        lambda sync: equity.asset_curve(sync, ids, timeframe, span.start, span.end)
    )
    now = await current_points(request.app.state.exchange, accounts) if span.live else {}
    by_trader: dict[int, list[EquityPoint]] = {a: [] for a in ids}
    for p in stored:
        by_trader[p.account_id].append(p)
    return AssetCurvesOut(
        timeframe=timeframe,
        start=span.start,
        end=span.end,
        traders=[trader_curve(a, by_trader[a.id], now.get(a.id), timeframe) for a in accounts],
    )


@router.get("/{account_id}/asset-curve", response_model=AssetCurveOut)
async def asset_curve(
    account_id: int,
    s: SessionDep,
    request: Request,
    user: CurrentUser,
    timeframe: Timeframe = Timeframe.M5,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AssetCurveOut:
    """One trader's equity curve: the last point of each `timeframe` bucket (5m, 1h, 1d) from
    `start` to `end` (default: the timeframe's usual window up to now), the last point the
    equity now (`current: false` if it could not be had). Money as decimal strings."""
    acct = await get_account(s, account_id, user.id)
    span = curve_range(timeframe, start, end, utcnow())
    stored = await s.run_sync(
        lambda sync: equity.asset_curve(sync, [account_id], timeframe, span.start, span.end)
    )
    now = await current_point(request.app.state.exchange, acct) if span.live else None
    curve = trader_curve(acct, stored, now, timeframe)
    return AssetCurveOut(**curve.model_dump(), timeframe=timeframe, start=span.start, end=span.end)
