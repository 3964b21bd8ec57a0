"""A backtest's candle history, and the rows one step sees of it (both sides of a session).

The history comes as `Candles`: (symbol, interval) -> (close times oldest first, rows in
adapters/market/rows.py's format `[open_ms, open, high, low, close, volume]`). The rows a step
at time t sees for (symbol, interval iv): those with close time <= t and > t - 100 x iv.ms,
oldest first (at most 100, as live's snapshot: SNAPSHOT_CANDLES). The backtest engine applies
the same rule for the full snapshot it would send, so a session step and a full-snapshot run of
the same step see the same candles.

In a step's snapshot `klines` lists the symbols in the order they first appear in the history
and, for each, its intervals in that order too.

The setup a worker sends a session (`encode_setup` / `decode_setup`): a 4-byte length, a JSON
header (code, limits, seed, and per series its symbol, interval and row count), then per series
its close times (int64) and rows (float64, 6 columns), raw and little-endian: a year of 1m
candles is 25 MB, which JSON would take seconds to read.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.market import interval_ms

Candles = Mapping[tuple[str, str], tuple[Sequence[int], Sequence[Sequence[float]]]]
WINDOW = 100  # candles per interval in a snapshot, as live (adapters/market/snapshot.py)
COLUMNS = 6
_HEADER_LENGTH = 4


def window(close_times: Sequence[int], at_ms: int, step_ms: int) -> tuple[int, int]:
    """(lo, hi): the rows a step at `at_ms` sees are rows[lo:hi] (see the module docstring)."""
    return (
        bisect.bisect_right(close_times, at_ms - WINDOW * step_ms),
        bisect.bisect_right(close_times, at_ms),
    )


def klines_at(candles: Candles, at_ms: int) -> dict[str, dict[str, Any]]:
    """The `klines` of the full snapshot at `at_ms` (the spawn-mode fallback sends it)."""
    klines: dict[str, dict[str, Any]] = {}
    for (symbol, interval), (close_times, rows) in candles.items():
        lo, hi = window(close_times, at_ms, interval_ms(interval))
        klines.setdefault(symbol, {})[interval] = [list(row) for row in rows[lo:hi]]
    return klines


@dataclass(frozen=True)
class Series:
    symbol: str
    interval: str
    step_ms: int
    close_times: np.ndarray  # int64, strictly increasing
    rows: np.ndarray  # float64, (n, 6)


@dataclass(frozen=True)
class Setup:
    code: str
    limits: dict[str, Any]
    seed: int
    series: list[Series]


def encode_setup(code: str, limits: dict[str, Any], seed: int, candles: Candles) -> bytes:
    """ValueError for a history that is not one: rows that do not match their close times,
    close times out of order, rows of fewer than 6 numbers."""
    header: dict[str, Any] = {"code": code, "limits": limits, "seed": seed, "series": []}
    blobs: list[bytes] = []
    for (symbol, interval), (close_times, rows) in candles.items():
        times = np.asarray(close_times, dtype="<i8").reshape(-1)
        table = np.asarray(rows, dtype="<f8")
        if len(times) == 0:
            table = np.empty((0, COLUMNS), dtype="<f8")
        if table.ndim != 2 or table.shape[1] < COLUMNS or len(table) != len(times):
            raise ValueError(f"{symbol} {interval}: rows must be {COLUMNS} numbers per close time")
        if len(times) > 1 and not bool(np.all(np.diff(times) > 0)):
            raise ValueError(f"{symbol} {interval}: close times must increase")
        header["series"].append(
            {"symbol": symbol, "interval": interval, "step_ms": interval_ms(interval),
             "count": len(times)}
        )  # fmt: skip
        blobs += [times.tobytes(), np.ascontiguousarray(table[:, :COLUMNS]).tobytes()]
    head = json.dumps(header).encode()
    return b"".join([len(head).to_bytes(_HEADER_LENGTH, "big"), head, *blobs])


def decode_setup(raw: bytes) -> Setup:
    size = int.from_bytes(raw[:_HEADER_LENGTH], "big")
    header = json.loads(raw[_HEADER_LENGTH : _HEADER_LENGTH + size])
    offset = _HEADER_LENGTH + size
    series: list[Series] = []
    for item in header["series"]:
        count = int(item["count"])
        times = np.frombuffer(raw, dtype="<i8", count=count, offset=offset)
        offset += times.nbytes
        rows = np.frombuffer(raw, dtype="<f8", count=count * COLUMNS, offset=offset)
        offset += rows.nbytes
        series.append(
            Series(str(item["symbol"]), str(item["interval"]), int(item["step_ms"]), times,
                   rows.reshape(count, COLUMNS))
        )  # fmt: skip
    if offset != len(raw):
        raise ValueError("the session's setup does not add up")
    return Setup(str(header["code"]), dict(header["limits"]), int(header["seed"]), series)


def klines_of(series: list[Series], at_ms: int) -> dict[str, dict[str, np.ndarray]]:
    """`klines_at` over decoded series: views of the history (MarketData copies them)."""
    klines: dict[str, dict[str, np.ndarray]] = {}
    for s in series:
        # `window` with numpy's bisection: the same bounds, without a Python loop.
        lo, hi = np.searchsorted(s.close_times, [at_ms - WINDOW * s.step_ms, at_ms], "right")
        klines.setdefault(s.symbol, {})[s.interval] = s.rows[lo:hi]
    return klines
