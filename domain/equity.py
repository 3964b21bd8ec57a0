"""A trader's equity history (README "Equity history"): its points, the asset curve's timeframes,
and which old points are kept.

A point is recorded on every fill (in the fill's transaction) and by the periodic sample (every
60 s for traders that are active or hold positions). The curve shows the last point of each
bucket (5 minutes, 1 hour or 1 day, aligned to UTC epoch multiples), and its last point is the
trader's equity now. Old points are thinned to one per bucket of a coarser size as they age; the
buckets are the curve's own, so thinning never changes the curve at those timeframes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from domain.events import AssetCurveUpdate


class Timeframe(StrEnum):
    """The asset curve's bucket sizes (the product's `get_asset_curve` timeframes)."""

    M5 = "5m"
    H1 = "1h"
    D1 = "1d"

    @property
    def seconds(self) -> int:
        return _SECONDS[self]

    @property
    def default_window(self) -> timedelta:
        """The range shown when a request gives no start."""
        return _WINDOWS[self]


_SECONDS = {Timeframe.M5: 300, Timeframe.H1: 3600, Timeframe.D1: 86400}
_WINDOWS = {
    Timeframe.M5: timedelta(days=1),  # 288 points
    Timeframe.H1: timedelta(days=30),  # 720 points
    Timeframe.D1: timedelta(days=365),
}
# A request may span at most this many buckets (5m: ~10 days, 1h: ~125 days, 1d: ~8 years):
# what a chart can show, and a bound on the rows one request reads.
MAX_BUCKETS = 3000
# The periodic sample's cadence at most (the "at least every 60 s").
SAMPLE_SECONDS = 60


# Money columns keep 10 decimals: a point holds exactly what its row will, so the event pushed
# and the curve read back say the same (a venue's 9866.846935666666... is stored rounded), and
# in the same digits as the API writes money (no padding zeros, no exponent: "1012.5").
MONEY_EXPONENT = Decimal("1e-10")
_WIDE = Context(prec=60)


class EquityPoint(BaseModel):
    """A trader's account at one moment. Money is Decimal (decimal strings in JSON)."""

    model_config = ConfigDict(frozen=True)

    account_id: int
    time: datetime  # UTC
    cash: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    margin_used: Decimal

    @field_validator("cash", "unrealized_pnl", "equity", "margin_used")
    @classmethod
    def _as_stored(cls, v: Decimal) -> Decimal:
        return as_stored(v)

    @classmethod
    def from_row(
        cls,
        account_id: int,
        time: datetime,
        cash: Decimal,
        unrealized_pnl: Decimal,
        equity: Decimal,
        margin_used: Decimal,
    ) -> EquityPoint:
        """A stored point as read back (why not validated: a curve reads thousands of them, and
        a stored row's values are what validation made them)."""
        return cls.model_construct(
            account_id=account_id,
            time=utc(time),
            cash=_digits(cash),
            unrealized_pnl=_digits(unrealized_pnl),
            equity=_digits(equity),
            margin_used=_digits(margin_used),
        )

    def event(self) -> AssetCurveUpdate:
        """The live stream's `asset_curve_update` for this point."""
        return AssetCurveUpdate(**self.model_dump())


def as_stored(v: Decimal) -> Decimal:
    """`v` to the 10 decimals a money column keeps, in the API's digits."""
    if not v.is_finite():
        return v
    return _digits(v.quantize(MONEY_EXPONENT, ROUND_HALF_EVEN, _WIDE))


def _digits(v: Decimal) -> Decimal:
    return Decimal(format(v.normalize(_WIDE), "f")) if v.is_finite() else v


def utc(t: datetime) -> datetime:
    """`t` in UTC; a time without a zone is taken as UTC (SQLite returns them so)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def bucket_of(t: datetime, seconds: int) -> int:
    """The index of the `seconds`-wide bucket `t` falls in (buckets start at the UTC epoch)."""
    return int(utc(t).timestamp()) // seconds


def bucket_start(t: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(bucket_of(t, seconds) * seconds, UTC)


def with_current(
    stored: list[EquityPoint], current: EquityPoint, seconds: int
) -> list[EquityPoint]:
    """One trader's downsampled curve ending with its `current` point: stored points of the
    current bucket (or later, a clock a little ahead) give way to it, the last of that bucket."""
    cut = bucket_of(current.time, seconds)
    return [p for p in stored if bucket_of(p.time, seconds) < cut] + [current]


@dataclass(frozen=True)
class Tier:
    """Points older than `after` are thinned to the last one of each `every_seconds` bucket."""

    after: timedelta
    every_seconds: int


# Kept: every point for 2 days, then one per 5 minutes up to 30 days, then one per hour. A trader
# sampled every minute keeps ~1,440 points a day for its last 2 days, 288 a day to 30 days, then
# 24 a day (fills add a few more while they are recent).
THINNING: tuple[Tier, ...] = (
    Tier(after=timedelta(days=2), every_seconds=Timeframe.M5.seconds),
    Tier(after=timedelta(days=30), every_seconds=Timeframe.H1.seconds),
)


def thinning_cut(tier: Tier, now: datetime) -> datetime:
    """Points before this time are thinned by `tier` (a bucket boundary, so no bucket is split
    between the thinned and the untouched side)."""
    return bucket_start(utc(now) - tier.after, tier.every_seconds)


class EquitySampleInput(BaseModel):
    """The periodic sample takes nothing: it samples every trader that needs it, as of now."""


class EquitySampleResult(BaseModel):
    sampled: int = 0  # points recorded
    skipped: int = 0  # traders whose values could not be had (venue or market data down)


class EquityThinInput(BaseModel):
    now: datetime  # the workflow's time: thinning is a pure function of it and the stored rows


class EquityThinResult(BaseModel):
    deleted: int = 0
