"""/api/account/.../asset-curve: equity history, downsampled, ending with the equity now
(api/equity.py)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from api.auth import CurrentUser
from api.deps import SessionDep
from api.equity import AssetCurveOut, AssetCurvesOut, asset_curves
from api.exact_json import ExactNumbersRoute
from api.queries import get_account, listed_accounts
from domain.equity import Timeframe

# Why its own router, included before the accounts router: `/api/account/asset-curve` must not
# reach `/api/account/{account_id}` (an id that is not a number is a 422 there).
router = APIRouter(prefix="/api/account", tags=["equity"], route_class=ExactNumbersRoute)


@router.get("/asset-curve", response_model=AssetCurvesOut)
async def all_asset_curves(
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
    accounts = await listed_accounts(s, user.id, include_hidden)
    span, curves = await asset_curves(
        s, request.app.state.exchange, accounts, timeframe, start, end
    )
    return AssetCurvesOut(timeframe=timeframe, start=span.start, end=span.end, traders=curves)


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
    span, (curve,) = await asset_curves(
        s, request.app.state.exchange, [acct], timeframe, start, end
    )
    return AssetCurveOut(**curve.model_dump(), timeframe=timeframe, start=span.start, end=span.end)
