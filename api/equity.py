"""The asset curve as the API serves it: stored points (db/equity.py) downsampled per bucket,
ending with each trader's equity computed now. Shared by the REST routes
(api/routes/equity.py) and anything else that answers `get_asset_curve`.

The current point is valued the way `/overview` values the account (the trader's exchange, its
symbols at current marks), so the two agree. A trader whose current values cannot be had (market
data or its venue down, a live trader not connected yet) keeps its stored curve, marked
`current: false`, rather than failing the whole answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchanges.router import ExchangeRouter
from adapters.market.snapshot import now_ms
from api.errors import ApiError
from api.money import MoneyOut
from api.schemas import UtcDateTime
from db import equity
from db.base import utcnow
from db.models import Account
from domain.equity import MAX_BUCKETS, EquityPoint, Timeframe, utc, with_current

log = logging.getLogger("hyperoru.api")

# Traders valued at once for an all-traders curve, and how long one may take.
CURRENT_CONCURRENCY = 8
CURRENT_TIMEOUT_S = 10.0


class PointOut(BaseModel):
    time: UtcDateTime
    cash: MoneyOut
    unrealized_pnl: MoneyOut
    equity: MoneyOut
    margin_used: MoneyOut


class TraderCurveOut(BaseModel):
    account_id: int
    name: str
    current: bool  # the last point is the trader's equity now (false: it could not be had)
    points: list[PointOut]


class AssetCurveOut(TraderCurveOut):
    timeframe: Timeframe
    start: UtcDateTime
    end: UtcDateTime


class AssetCurvesOut(BaseModel):
    timeframe: Timeframe
    start: UtcDateTime
    end: UtcDateTime
    traders: list[TraderCurveOut]


@dataclass(frozen=True)
class CurveRange:
    start: datetime
    end: datetime
    live: bool  # the range reaches now: the curve ends with the current point


def curve_range(
    timeframe: Timeframe, start: datetime | None, end: datetime | None, now: datetime
) -> CurveRange:
    """The range asked for (a time without a zone is UTC): `end` defaults to now, `start` to
    the timeframe's window before `end`; at most MAX_BUCKETS buckets."""
    try:
        last = utc(end) if end is not None else now
        first = utc(start) if start is not None else last - timeframe.default_window
    except OverflowError as err:  # e.g. 0001-01-01 with a zone east of UTC
        raise ApiError(422, "VALIDATION_ERROR", "start, end: out of range") from err
    if first >= last:
        raise ApiError(422, "VALIDATION_ERROR", "start: must be before end")
    if (last - first).total_seconds() / timeframe.seconds > MAX_BUCKETS:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"start: the range spans more than {MAX_BUCKETS} buckets of {timeframe.value}; "
            "narrow it or take a larger timeframe",
        )
    return CurveRange(first, last, live=first <= now <= last)


async def current_point(exchange: ExchangeRouter, account: Account) -> EquityPoint | None:
    """The trader's equity now, as /overview values it; None (logged) if it cannot be had."""
    try:
        feed = await exchange.feed_for(account.id)
        at = now_ms()
        marks = {sym: await feed.get_price(sym, at) for sym in account.symbols}
        view = await exchange.view(account.id, marks)
    except Exception as err:  # market data and venues fail in open-ended ways (api/market.py)
        log.warning("account %s: no current equity: %s: %s", account.id, type(err).__name__, err)
        return None
    return view.equity_point(account.id, utcnow())


async def current_points(
    exchange: ExchangeRouter, accounts: Sequence[Account]
) -> dict[int, EquityPoint]:
    """`current_point` of each trader, a few at a time, each under a timeout."""
    gate = asyncio.Semaphore(CURRENT_CONCURRENCY)

    async def one(account: Account) -> EquityPoint | None:
        async with gate:
            try:
                return await asyncio.wait_for(current_point(exchange, account), CURRENT_TIMEOUT_S)
            except TimeoutError:
                log.warning("account %s: no current equity: timed out", account.id)
                return None

    got = await asyncio.gather(*(one(a) for a in accounts))
    return {p.account_id: p for p in got if p is not None}


def trader_curve(
    account: Account, stored: list[EquityPoint], current: EquityPoint | None, timeframe: Timeframe
) -> TraderCurveOut:
    """One trader's curve: its stored points, ending with `current` (None: not in range, or not
    to be had)."""
    points = stored if current is None else with_current(stored, current, timeframe.seconds)
    return TraderCurveOut(
        account_id=account.id,
        name=account.name,
        current=current is not None,
        points=[PointOut.model_validate(p.model_dump()) for p in points],
    )


async def asset_curves(
    s: AsyncSession,
    exchange: ExchangeRouter,
    accounts: Sequence[Account],
    timeframe: Timeframe,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[CurveRange, list[TraderCurveOut]]:
    """The curves of `accounts` (the caller has checked they are the user's own), in their
    order, with the range they cover: what the REST routes answer, and `get_asset_curve`."""
    span = curve_range(timeframe, start, end, utcnow())
    ids = [a.id for a in accounts]
    stored = await s.run_sync(
        lambda sync: equity.asset_curve(sync, ids, timeframe, span.start, span.end)
    )
    now = await current_points(exchange, accounts) if span.live else {}
    by_trader: dict[int, list[EquityPoint]] = {a: [] for a in ids}
    for p in stored:
        by_trader[p.account_id].append(p)
    return span, [trader_curve(a, by_trader[a.id], now.get(a.id), timeframe) for a in accounts]
