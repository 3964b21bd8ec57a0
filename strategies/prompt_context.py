"""Prompt variables as compact text, built from a decision snapshot (see strategies.context).

`variables_from_snapshot(snapshot, recent_trades)` returns one string per template variable in
domain.prompts.KNOWN_VARIABLES. The snapshot has the shape of `snapshot_dict`: symbols, now (ISO),
prices {sym: str}, klines {sym: {interval: [[open_ms, o, h, l, c, v], ...]}}, positions
(PositionView dumps), balance {available, equity, cash}, trigger {type, ...}.

What each variable holds (indicators and regime use 1h candles):
  market_prices         price per symbol with % change over the last 1h and 24h
  kline_data            last KLINE_ROWS candles per symbol at 1h and 15m, one row per candle
  technical_indicators  RSI14, EMA20, EMA50, MACD(12,26,9), BBANDS(20, 2 sd) with %B, ATR14
  open_positions        side, size, notional, entry, mark, unrealized PnL, price move, leverage
  recent_trades         the first MAX_TRADES entries of `recent_trades`, in the order given
                        (pass the most recent first)
  trigger_context       the trigger as compact JSON
  market_regime         "BTC: trending, ETH: calm" (domain.indicators.regime on 1h candles)
  sampling_data         the last SAMPLING_POINTS 1-minute closes per symbol, oldest first
  account_balance       equity, available and cash in USD
  symbols               comma-separated symbols

Size is bounded: at most MAX_SYMBOLS symbols get per-symbol sections and every variable is cut to
MAX_VARIABLE_CHARS, so 3 symbols render to roughly 4-5 KB in total. Missing or malformed data
gives "n/a" text rather than an exception: a decision must not fail because one interval is empty.
Values are plain data; the template renderer never re-scans them for `{variables}`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from domain.indicators import (
    REGIME_MIN_CANDLES,
    Series,
    check_period,
    latest,
    regime,
    required_candles,
)
from domain.prompts import KNOWN_VARIABLES, MAX_VARIABLE_CHARS
from domain.vocabulary import PositionSide

KLINE_INTERVALS = ("1h", "15m")
KLINE_ROWS = 8
INDICATOR_INTERVAL = "1h"
SAMPLING_INTERVAL = "1m"
SAMPLING_POINTS = 20
MAX_TRADES = 10
MAX_SYMBOLS = 10
MAX_LINE_CHARS = 240
MAX_TRIGGER_CHARS = 1500
NONE_TEXT = "none"
NA = "n/a"

Candle = tuple[int, float, float, float, float, float]


# ---------------------------------------------------------------- formatting helpers


def fmt_num(value: Any) -> str:
    """A price-like number with sensible precision: 97123.45, 3.1416, 0.000123457."""
    x = _to_float(value)
    if x is None:
        return NA
    a = abs(x)
    if a >= 1000:
        return f"{x:.2f}"
    if a >= 1:  # about 6 significant digits
        return _strip_zeros(f"{x:.{max(0, 5 - int(math.log10(a)))}f}")
    if a == 0:
        return "0"
    return f"{x:.6g}"


def fmt_volume(value: Any) -> str:
    x = _to_float(value)
    if x is None:
        return NA
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{x / div:.2f}{suffix}"
    return _strip_zeros(f"{x:.2f}")


def fmt_pct(value: float | None) -> str:
    return NA if value is None or not math.isfinite(value) else f"{value:+.2f}%"


def fmt_usd(value: Any) -> str:
    x = _to_float(value)
    return NA if x is None else f"{x:.2f} USD"


def _strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 14] + " …(truncated)"


# ---------------------------------------------------------------- snapshot access


def _candles(snapshot: Mapping[str, Any], symbol: str, interval: str) -> list[Candle]:
    """Well-formed candles, oldest first (malformed rows are dropped)."""
    klines = snapshot.get("klines")
    per_symbol = klines.get(symbol) if isinstance(klines, Mapping) else None
    rows = per_symbol.get(interval) if isinstance(per_symbol, Mapping) else None
    if not isinstance(rows, list):
        return []
    out: list[Candle] = []
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) < 6:
            continue
        nums = [_to_float(v) for v in row[:6]]
        if any(v is None for v in nums):
            continue
        t, o, h, lo, c, v = (float(x) for x in nums)  # type: ignore[arg-type]
        out.append((int(t), o, h, lo, c, v))
    out.sort(key=lambda r: r[0])
    return out


def _series(candles: Sequence[Candle]) -> Series:
    arr = np.asarray([r[1:5] for r in candles], dtype=np.float64).reshape(-1, 4)
    return Series(high=arr[:, 1].copy(), low=arr[:, 2].copy(), close=arr[:, 3].copy())


def _now_ms(snapshot: Mapping[str, Any]) -> int | None:
    now = snapshot.get("now")
    if isinstance(now, str):
        try:
            dt = datetime.fromisoformat(now)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    return None


def _symbols(snapshot: Mapping[str, Any]) -> list[str]:
    syms = snapshot.get("symbols") or list((snapshot.get("prices") or {}).keys())
    return [str(s) for s in syms]


def _limited(symbols: list[str]) -> tuple[list[str], str]:
    if len(symbols) <= MAX_SYMBOLS:
        return symbols, ""
    return symbols[:MAX_SYMBOLS], f"\n… and {len(symbols) - MAX_SYMBOLS} more symbols not shown"


# ---------------------------------------------------------------- variables


def _change_pct(
    price: float | None, candles: Sequence[Candle], at_ms: int | None, horizon_ms: int
) -> float | None:
    """% change from the close of the last candle that opened at or before at - horizon."""
    if price is None or not candles or at_ms is None:
        return None
    cutoff = at_ms - horizon_ms
    past = [c for c in candles if c[0] <= cutoff]
    if not past or past[-1][4] == 0:
        return None
    return (price / past[-1][4] - 1.0) * 100.0


def market_prices_text(snapshot: Mapping[str, Any]) -> str:
    prices = snapshot.get("prices") or {}
    symbols, more = _limited(_symbols(snapshot))
    now = _now_ms(snapshot)
    lines = []
    for sym in symbols:
        price = _to_float(prices.get(sym))
        minute = _candles(snapshot, sym, "1m")
        hourly = _candles(snapshot, sym, "1h")
        ch1 = _change_pct(price, minute or hourly, now, 3_600_000)
        ch24 = _change_pct(price, hourly, now, 86_400_000)
        lines.append(f"{sym}: {fmt_num(price)} (1h {fmt_pct(ch1)}, 24h {fmt_pct(ch24)})")
    head = f"as of {snapshot.get('now')}\n" if snapshot.get("now") else ""
    return head + ("\n".join(lines) or NONE_TEXT) + more


def kline_text(snapshot: Mapping[str, Any]) -> str:
    symbols, more = _limited(_symbols(snapshot))
    blocks = []
    for sym in symbols:
        for iv in KLINE_INTERVALS:
            candles = _candles(snapshot, sym, iv)[-KLINE_ROWS:]
            if not candles:
                blocks.append(f"{sym} {iv}: {NA}")
                continue
            rows = [
                f"{_fmt_time(t)} {fmt_num(o)} {fmt_num(h)} {fmt_num(lo)} {fmt_num(c)} "
                f"{fmt_volume(v)}"
                for t, o, h, lo, c, v in candles
            ]
            blocks.append(
                f"{sym} {iv} (last {len(candles)}; UTC open, open high low close volume):\n"
                + "\n".join(rows)
            )
    return "\n".join(blocks) + more if blocks else NONE_TEXT


def indicator_value(name: str, period: int, series: Series) -> float | dict[str, float] | None:
    """The latest value of `name`(period) on `series`, None (shown as n/a) when the candles are
    too few or the value undefined. A period outside the shared bounds is a mistake in this
    module, not in the data: it raises, as it would for a signal or a program."""
    check_period(name, period)
    if len(series.close) < required_candles(name, period):
        return None
    try:
        return latest(name, period, series)
    except ValueError:
        return None


def indicators_text(snapshot: Mapping[str, Any]) -> str:
    symbols, more = _limited(_symbols(snapshot))
    prices = snapshot.get("prices") or {}
    lines = []
    for sym in symbols:
        candles = _candles(snapshot, sym, INDICATOR_INTERVAL)
        if not candles:
            lines.append(f"{sym} ({INDICATOR_INTERVAL}): {NA} (no candles)")
            continue
        s = _series(candles)
        price = _to_float(prices.get(sym)) or float(s.close[-1])
        parts = []
        rsi = indicator_value("rsi", 14, s)
        parts.append(f"RSI14 {NA if rsi is None else f'{rsi:.1f}'}")
        ema20, ema50 = indicator_value("ema", 20, s), indicator_value("ema", 50, s)
        ema = f"EMA20 {fmt_num(ema20)} EMA50 {fmt_num(ema50)}"
        if isinstance(ema20, float) and isinstance(ema50, float):
            above = [n for n, v in (("EMA20", ema20), ("EMA50", ema50)) if price > v]
            ema += f" (price above {' and '.join(above)})" if above else " (price below both)"
        parts.append(ema)
        macd = indicator_value("macd", 26, s)
        if isinstance(macd, dict):
            parts.append(
                f"MACD {fmt_num(macd['macd'])} signal {fmt_num(macd['signal'])} "
                f"hist {fmt_num(macd['histogram'])}"
            )
        else:
            parts.append(f"MACD {NA}")
        bb = indicator_value("bbands", 20, s)
        if isinstance(bb, dict):
            width = bb["upper"] - bb["lower"]
            pct_b = (price - bb["lower"]) / width if width > 0 else None
            parts.append(
                f"BB20 upper {fmt_num(bb['upper'])} mid {fmt_num(bb['middle'])} "
                f"lower {fmt_num(bb['lower'])} (%B {NA if pct_b is None else f'{pct_b:.2f}'})"
            )
        else:
            parts.append(f"BB20 {NA}")
        atr = indicator_value("atr", 14, s)
        atr_pct = (
            f" ({atr / price * 100:.2f}% of price)" if isinstance(atr, float) and price else ""
        )
        parts.append(f"ATR14 {fmt_num(atr)}{atr_pct}")
        lines.append(f"{sym} ({INDICATOR_INTERVAL}, {len(candles)} candles): " + " | ".join(parts))
    return "\n".join(lines) + more if lines else NONE_TEXT


def regime_label(candles: Sequence[Candle]) -> str:
    if len(candles) < REGIME_MIN_CANDLES:
        return "unknown (not enough candles)"
    try:
        return regime(_series(candles))
    except (ValueError, IndexError):
        return "unknown"


def regime_text(snapshot: Mapping[str, Any]) -> str:
    symbols, more = _limited(_symbols(snapshot))
    parts = [
        f"{sym}: {regime_label(_candles(snapshot, sym, INDICATOR_INTERVAL))}" for sym in symbols
    ]
    return ", ".join(parts) + more if parts else NONE_TEXT


def sampling_text(snapshot: Mapping[str, Any]) -> str:
    symbols, more = _limited(_symbols(snapshot))
    lines = []
    for sym in symbols:
        candles = _candles(snapshot, sym, SAMPLING_INTERVAL)[-SAMPLING_POINTS:]
        if not candles:
            lines.append(f"{sym}: {NA}")
            continue
        closes = [c[4] for c in candles]
        change = (closes[-1] / closes[0] - 1.0) * 100.0 if closes[0] else None
        lines.append(
            f"{sym} last {len(closes)} x {SAMPLING_INTERVAL} closes to "
            f"{_fmt_time(candles[-1][0])} (oldest first; low {fmt_num(min(closes))}, "
            f"high {fmt_num(max(closes))}, change {fmt_pct(change)}): "
            + " ".join(fmt_num(c) for c in closes)
        )
    return "\n".join(lines) + more if lines else NONE_TEXT


def positions_text(snapshot: Mapping[str, Any]) -> str:
    positions = snapshot.get("positions") or []
    lines = []
    for p in positions[: MAX_SYMBOLS * 2]:
        if not isinstance(p, Mapping):
            continue
        side = str(p.get("side", "?"))
        size, entry, mark = (_to_decimal(p.get(k)) for k in ("size", "entry_price", "mark_price"))
        move = None
        if entry and mark is not None:
            move = float((mark / entry - 1) * 100) * (-1.0 if side == PositionSide.SHORT else 1.0)
        notional = f" (notional {fmt_usd(size * mark)})" if size and mark is not None else ""
        pnl = _to_float(p.get("unrealized_pnl"))
        pnl_text = NA if pnl is None else f"{pnl:+.2f} USD"
        lev = _to_decimal(p.get("leverage"))
        lines.append(
            _cap(
                f"{p.get('symbol', '?')} {side} size {fmt_num(size)}{notional} entry "
                f"{fmt_num(entry)} mark {fmt_num(mark)} uPnL {pnl_text} (price move "
                f"{fmt_pct(move)}) leverage {fmt_num(lev)}x",
                MAX_LINE_CHARS,
            )
        )
    if len(positions) > MAX_SYMBOLS * 2:
        lines.append(f"… and {len(positions) - MAX_SYMBOLS * 2} more positions")
    return "\n".join(lines) or NONE_TEXT


def balance_text(snapshot: Mapping[str, Any]) -> str:
    bal = snapshot.get("balance") or {}
    return (
        f"equity {fmt_usd(bal.get('equity'))}, available {fmt_usd(bal.get('available'))}, "
        f"cash {fmt_usd(bal.get('cash'))}"
    )


_TRADE_KEYS: dict[str, tuple[str, ...]] = {
    "time": ("created_at", "time", "timestamp", "at"),
    "symbol": ("symbol",),
    "side": ("side", "operation"),
    "size": ("size", "qty", "size_usd"),
    "price": ("price", "avg_price"),
    "pnl": ("realized_pnl", "pnl"),
    "fee": ("fee",),
    "trigger": ("trigger",),
}


def _first(trade: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        if trade.get(k) is not None:
            return trade[k]
    return None


def _trade_time(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fmt_time(int(value if value > 1e11 else value * 1000))
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%m-%d %H:%M")
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return value[:25]
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).strftime("%m-%d %H:%M")
    return "?"


def trades_text(recent_trades: Sequence[Mapping[str, Any]] | None) -> str:
    trades = [t for t in (recent_trades or []) if isinstance(t, Mapping)]
    lines = []
    for t in trades[:MAX_TRADES]:
        f = {k: _first(t, keys) for k, keys in _TRADE_KEYS.items()}
        text = f"{_trade_time(f['time'])} {f['symbol'] or '?'} {f['side'] or '?'}"
        if f["size"] is not None:
            text += f" {fmt_num(f['size'])}"
        if f["price"] is not None:
            text += f" @ {fmt_num(f['price'])}"
        pnl = _to_float(f["pnl"])
        if pnl is not None:
            text += f" realized PnL {pnl:+.2f} USD"
        if f["fee"] is not None:
            text += f" fee {fmt_num(f['fee'])}"
        if f["trigger"]:
            text += f" ({f['trigger']})"
        lines.append(_cap(text, MAX_LINE_CHARS))
    if len(trades) > MAX_TRADES:
        lines.append(f"… {len(trades) - MAX_TRADES} older trades not shown")
    return "\n".join(lines) or NONE_TEXT


def trigger_text(snapshot: Mapping[str, Any]) -> str:
    trigger = snapshot.get("trigger")
    if not trigger:
        return NONE_TEXT
    text = json.dumps(trigger, sort_keys=True, default=str, ensure_ascii=False)
    return _cap(text, MAX_TRIGGER_CHARS)


def variables_from_snapshot(
    snapshot: Mapping[str, Any], recent_trades: Sequence[Mapping[str, Any]] | None
) -> dict[str, str]:
    """Text for every variable in domain.prompts.KNOWN_VARIABLES."""
    values = {
        "market_prices": market_prices_text(snapshot),
        "kline_data": kline_text(snapshot),
        "technical_indicators": indicators_text(snapshot),
        "open_positions": positions_text(snapshot),
        "recent_trades": trades_text(recent_trades),
        "trigger_context": trigger_text(snapshot),
        "market_regime": regime_text(snapshot),
        "sampling_data": sampling_text(snapshot),
        "account_balance": balance_text(snapshot),
        "symbols": ", ".join(_symbols(snapshot)) or NONE_TEXT,
    }
    assert set(values) == set(KNOWN_VARIABLES)
    return {k: _cap(v, MAX_VARIABLE_CHARS) for k, v in values.items()}
