"""Child side: the `data` object given to should_trade, backed only by the snapshot (no I/O)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from domain import factors, indicators
from domain.market import interval_seconds

KLINE_FIELDS = ("timestamp", "open", "high", "low", "close", "volume")
MAX_KLINES_LIMIT = 5000
_EMPTY = np.empty(0, dtype=np.float64)


class MarketData:
    """What `should_trade(self, data)` receives: a read-only view of the market and the account
    at the moment of one decision. Everything comes from that decision's snapshot: no call
    does I/O, and every call on the same `data` answers the same.

    Symbols are case-insensitive ("btc" is "BTC"). An interval is one the snapshot holds (see
    Limits); None means its default interval. Asking for a symbol or interval the snapshot does
    not hold raises KeyError or ValueError naming those it holds.
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
        # Histories (oldest first) only where the snapshot carries them (see domain.factors).
        self._histories = {
            "funding": _histories(snapshot.get("funding_history")),
            "open_interest": _histories(snapshot.get("open_interest_history")),
        }
        for symbol in [*self._prices, *self._klines]:
            if symbol not in self._symbols:
                self._symbols.append(symbol)

    @property
    def symbols(self) -> list[str]:
        """The trader's symbols (upper case), e.g. ["BTC", "ETH"]."""
        return list(self._symbols)

    @property
    def trigger(self) -> dict[str, Any]:
        """What woke the trader: {"type": "manual" | "schedule" | "signal" | "test_run", ...}
        with that trigger's context (a signal's name and values, ...)."""
        return copy.deepcopy(self._trigger)

    @property
    def now(self) -> str:
        """The decision's time, ISO 8601 in UTC ("2026-11-24T10:00:00+00:00")."""
        return self._now

    @property
    def balance(self) -> dict[str, float]:
        """The account in USD: {"available": ..., "equity": ..., "cash": ...}."""
        return dict(self._balance)

    def get_price(self, symbol: str) -> float:
        """The latest price of `symbol`. KeyError if the snapshot has none for it."""
        key = self._symbol(symbol)
        if key not in self._prices:
            raise KeyError(f"no price for {key!r}; prices available for: {_names(self._prices)}")
        return self._prices[key]

    def get_klines(
        self, symbol: str, interval: str | None = None, limit: int = 100
    ) -> list[dict[str, float]]:
        """The last `limit` closed candles the snapshot holds (see Limits), oldest first,
        each {"timestamp": open time in ms, "open", "high", "low", "close", "volume"}."""
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
        """The latest value of a TA-Lib indicator on `symbol`'s candles (see Indicators):
        a number, or a dict for macd and bbands. ValueError for an unknown name (listing the
        valid ones), a period out of bounds, or fewer candles than the indicator needs."""
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

    def get_factor(
        self, symbol: str, name: str, period: int | None = None, interval: str | None = None
    ) -> float | None:
        """The latest value of a factor on `symbol` (see Factors): momentum, volatility,
        z-scores and more, computed as the platform computes them. None where the snapshot
        lacks the data the factor reads (funding or open-interest history) or the value is
        undefined (a flat window). ValueError for an unknown name (listing the valid ones), a
        period out of bounds, or too little history, as get_indicator. `interval` applies to
        the candle factors only."""
        key = str(name).lower()
        spec = factors.spec_of(key)
        p = factors.resolve_period(key, period)
        sym = self._symbol(symbol)
        if spec.source == "candles":
            iv = self._interval(interval)
            rows = self._rows(symbol, interval)
            high, low, close, volume = (np.ascontiguousarray(rows[:, i]) for i in (2, 3, 4, 5))
            inputs = factors.FactorInputs(close, high, low, volume, interval_seconds(iv))
            have, what = len(rows), f"{iv} candles"
        else:
            history = self._histories[spec.source].get(sym)
            if history is None:
                return None  # not in the snapshot: nothing to compute on, nothing invented
            inputs = factors.FactorInputs(
                _EMPTY, _EMPTY, _EMPTY, _EMPTY, bar_seconds=1,
                funding=history if spec.source == "funding" else None,
                open_interest=history if spec.source == "open_interest" else None,
            )  # fmt: skip
            have, what = len(history), spec.history
        need = spec.required(p)
        if have < need:
            raise ValueError(f"{key}({p}) on {sym} needs at least {need} {what}, have {have}")
        return factors.compute(key, p, inputs)

    def get_regime(self, symbol: str, interval: str | None = "1h") -> str:
        """The market's state on `symbol`'s candles: "volatile", "trending", "calm" or
        "ranging" (the first that applies: NATR(14) >= 1.5 x its median; ADX(14) >= 25;
        NATR(14) <= 0.75 x its median; otherwise). ValueError under 50 candles."""
        rows = self._rows(symbol, interval)
        if len(rows) < indicators.REGIME_MIN_CANDLES:
            raise ValueError(
                f"regime on {self._symbol(symbol)} needs at least "
                f"{indicators.REGIME_MIN_CANDLES} candles, have {len(rows)}"
            )
        return indicators.regime(_series(rows))

    def get_funding(self, symbol: str) -> float | None:
        """The current funding rate of `symbol` on the trader's venue (a fraction per the
        venue's funding interval: 0.0001 is 0.01 %), or None where not offered (paper)."""
        return self._funding.get(self._symbol(symbol))

    def get_open_interest(self, symbol: str) -> float | None:
        """The current open interest of `symbol` on the trader's venue (in the venue's unit,
        usually contracts or coins), or None where not offered (paper)."""
        return self._open_interest.get(self._symbol(symbol))

    def get_positions(self) -> list[dict[str, Any]]:
        """The open positions: dicts with "symbol", "side" ("long" | "short"), "size",
        "entry_price", "mark_price", "leverage", "unrealized_pnl" (numbers as floats)."""
        return [dict(p) for p in self._positions]

    def get_balance(self) -> float:
        """The USD available for new positions (balance["available"])."""
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
    # An array: a backtest session's slice of its history (sandbox/session_host.py), copied
    # below like any rows.
    if isinstance(rows, np.ndarray):
        array = rows.astype(np.float64, copy=False)
    else:
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


def _histories(raw: Any) -> dict[str, np.ndarray]:
    """{symbol: [value, ...] oldest first} as float arrays (None values are NaN)."""
    if not isinstance(raw, dict):
        return {}
    return {
        str(k).upper(): np.array([np.nan if v is None else float(v) for v in values])
        for k, values in raw.items()
        if isinstance(values, list)
    }


def _floats(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k).upper(): float(v) for k, v in raw.items() if v is not None}
