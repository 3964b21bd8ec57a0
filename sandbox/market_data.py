"""Child side: the `data` object given to should_trade, backed only by the snapshot (no I/O)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from domain import indicators

KLINE_FIELDS = ("timestamp", "open", "high", "low", "close", "volume")
MAX_KLINES_LIMIT = 5000


class MarketData:
    """Read-only market view for one decision.

    get_price(symbol) -> float                  latest price
    get_klines(symbol, interval=None, limit=100) -> list of dicts (timestamp ms, open, high,
        low, close, volume), oldest first; interval defaults to the snapshot's default_interval
    get_indicator(symbol, name, period=None, interval=None) -> float | dict (see
        domain.indicators; periods within domain.indicator_periods' bounds)
    get_regime(symbol, interval="1h") -> "trending" | "ranging" | "volatile" | "calm"
    get_positions() -> list of dicts;  get_balance() -> available USD as float
    Attributes: symbols (list), trigger (dict), now (ISO string), balance (dict of floats).
    """

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self._symbols = [str(s).upper() for s in snapshot.get("symbols") or []]
        self._now = str(snapshot.get("now") or "")
        self._default_interval = str(snapshot.get("default_interval") or "1h")
        self._prices = {str(k).upper(): float(v) for k, v in (snapshot.get("prices") or {}).items()}
        self._klines: dict[str, dict[str, np.ndarray]] = {}
        for symbol, by_interval in (snapshot.get("klines") or {}).items():
            self._klines[str(symbol).upper()] = {
                str(interval): _as_array(rows) for interval, rows in (by_interval or {}).items()
            }
        self._positions = [_position(p) for p in snapshot.get("positions") or []]
        self._balance = {k: float(v) for k, v in (snapshot.get("balance") or {}).items()}
        trigger = snapshot.get("trigger") or {}
        self._trigger: dict[str, Any] = dict(trigger) if isinstance(trigger, dict) else {}
        # Live venues only (absent on the paper exchange's simulated feed).
        self._funding = _floats(snapshot.get("funding"))
        self._open_interest = _floats(snapshot.get("open_interest"))
        for symbol in [*self._prices, *self._klines]:
            if symbol not in self._symbols:
                self._symbols.append(symbol)

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def trigger(self) -> dict[str, Any]:
        return copy.deepcopy(self._trigger)

    @property
    def now(self) -> str:
        return self._now

    @property
    def balance(self) -> dict[str, float]:
        return dict(self._balance)

    def get_price(self, symbol: str) -> float:
        key = self._symbol(symbol)
        if key not in self._prices:
            raise KeyError(f"no price for {key!r}; prices available for: {_names(self._prices)}")
        return self._prices[key]

    def get_klines(
        self, symbol: str, interval: str | None = None, limit: int = 100
    ) -> list[dict[str, float]]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        rows = self._rows(symbol, interval)[-min(limit, MAX_KLINES_LIMIT) :]
        return [
            {field: float(value) for field, value in zip(KLINE_FIELDS, row, strict=True)}
            | {"timestamp": int(row[0])}
            for row in rows
        ]

    def get_indicator(
        self, symbol: str, name: str, period: int | None = None, interval: str | None = None
    ) -> float | dict[str, float]:
        key = str(name).lower()
        if key not in indicators.DEFAULT_PERIODS:
            known = ", ".join(indicators.DEFAULT_PERIODS)
            raise ValueError(f"unknown indicator {name!r}; available: {known}")
        periods = indicators.resolve_period(key, period)
        rows = self._rows(symbol, interval)
        need = indicators.required_candles(key, periods)
        if len(rows) < need:
            raise ValueError(
                f"{key}({periods}) on {self._symbol(symbol)} "
                f"{self._interval(interval)} needs at least {need} candles, have {len(rows)}"
            )
        return indicators.latest(key, periods, _series(rows))

    def get_regime(self, symbol: str, interval: str | None = "1h") -> str:
        rows = self._rows(symbol, interval)
        if len(rows) < indicators.REGIME_MIN_CANDLES:
            raise ValueError(
                f"regime on {self._symbol(symbol)} needs at least "
                f"{indicators.REGIME_MIN_CANDLES} candles, have {len(rows)}"
            )
        return indicators.regime(_series(rows))

    def get_funding(self, symbol: str) -> float | None:
        """Current funding rate from the trader's venue, or None where not offered."""
        return self._funding.get(self._symbol(symbol))

    def get_open_interest(self, symbol: str) -> float | None:
        """Open interest from the trader's venue, or None where not offered."""
        return self._open_interest.get(self._symbol(symbol))

    def get_positions(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self._positions]

    def get_balance(self) -> float:
        return self._balance.get("available", 0.0)

    def __repr__(self) -> str:
        return f"MarketData(symbols={self._symbols}, now={self._now!r})"

    def _symbol(self, symbol: str) -> str:
        if not isinstance(symbol, str):
            raise TypeError(f"symbol must be a string, got {type(symbol).__name__}")
        return symbol.strip().upper()

    def _interval(self, interval: str | None) -> str:
        return self._default_interval if interval is None else str(interval).strip()

    def _rows(self, symbol: str, interval: str | None) -> np.ndarray:
        key = self._symbol(symbol)
        by_interval = self._klines.get(key)
        if by_interval is None:
            raise KeyError(f"no candles for {key!r}; candles available for: {_names(self._klines)}")
        iv = self._interval(interval)
        if iv not in by_interval:
            raise ValueError(f"no {iv!r} candles for {key}; intervals: {_names(by_interval)}")
        return by_interval[iv]


def _as_array(rows: Any) -> np.ndarray:
    array = np.asarray(rows or [], dtype=np.float64)
    if array.size == 0:
        return np.empty((0, len(KLINE_FIELDS)), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < len(KLINE_FIELDS):
        raise ValueError(f"klines rows must have {len(KLINE_FIELDS)} columns")
    array = array[:, : len(KLINE_FIELDS)].copy()
    array.flags.writeable = False  # rows are shared with every get_klines/get_indicator call
    return array


def _series(rows: np.ndarray) -> indicators.Series:
    return indicators.Series(
        high=np.ascontiguousarray(rows[:, 2]),
        low=np.ascontiguousarray(rows[:, 3]),
        close=np.ascontiguousarray(rows[:, 4]),
    )


def _position(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("symbol", "side"):
            out[key] = value
        else:
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                out[key] = value
    return out


def _names(mapping: dict[str, Any]) -> str:
    return ", ".join(mapping) or "(none)"


def _floats(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k).upper(): float(v) for k, v in raw.items() if v is not None}
