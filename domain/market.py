"""Market data value types: candle intervals and OHLCV candles (pure, sandbox-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_INTERVAL_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}


class Interval(StrEnum):
    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def seconds(self) -> int:
        return _INTERVAL_SECONDS[self.value]

    @property
    def ms(self) -> int:
        return self.seconds * 1000


def parse_interval(value: str | Interval) -> Interval:
    """Return the Interval for "1m", " 1H ", Interval.H1, ...; ValueError for anything else."""
    if isinstance(value, Interval):
        return value
    if not isinstance(value, str):
        raise ValueError(f"interval must be a string, got {type(value).__name__}")
    key = value.strip()
    if key not in _INTERVAL_SECONDS and not key.endswith("M"):  # "1M" means a month elsewhere
        key = key.lower()
    if key not in _INTERVAL_SECONDS:
        allowed = ", ".join(_INTERVAL_SECONDS)
        raise ValueError(f"unknown interval {value!r}; expected one of: {allowed}")
    return Interval(key)


def is_valid_interval(value: object) -> bool:
    try:
        parse_interval(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def interval_seconds(value: str | Interval) -> int:
    return parse_interval(value).seconds


def interval_ms(value: str | Interval) -> int:
    return parse_interval(value).ms


def align_open_time(t_ms: int, interval: str | Interval) -> int:
    """Open time (ms, epoch-aligned) of the candle that contains t_ms."""
    step = interval_ms(interval)
    return (t_ms // step) * step


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar; open_time_ms is the epoch-aligned start of the bar."""

    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def close_time_ms(self, interval: str | Interval) -> int:
        return self.open_time_ms + interval_ms(interval)

    def to_dict(self) -> dict[str, int | str]:
        return {
            "open_time_ms": self.open_time_ms,
            "open": str(self.open),
            "high": str(self.high),
            "low": str(self.low),
            "close": str(self.close),
            "volume": str(self.volume),
        }

    @classmethod
    def from_dict(cls, d: dict[str, int | str]) -> Candle:
        return cls(
            open_time_ms=int(d["open_time_ms"]),
            open=Decimal(str(d["open"])),
            high=Decimal(str(d["high"])),
            low=Decimal(str(d["low"])),
            close=Decimal(str(d["close"])),
            volume=Decimal(str(d["volume"])),
        )
