"""Prompt variables from a decision snapshot (adapters.llm.context_text)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import talib

from adapters.exchanges.base import AccountView
from adapters.market.simulated import SimulatedFeed
from adapters.market.snapshot import market_snapshot, snapshot_dict
from domain.prompts import KNOWN_VARIABLES, render
from domain.risk import PositionView
from strategies.prompt_context import (
    KLINE_INTERVALS,
    KLINE_ROWS,
    MAX_SYMBOLS,
    MAX_TRADES,
    MAX_VARIABLE_CHARS,
    SAMPLING_POINTS,
    fmt_num,
    variables_from_snapshot,
)

SYMBOLS = ["BTC", "ETH", "SOL"]
AT_MS = 1_790_000_000_000
TRADES: list[dict[str, Any]] = [
    {
        "trade_id": "t2",
        "symbol": "ETH",
        "side": "sell",
        "size": "0.5",
        "price": "3200.1",
        "fee": "0.8",
        "realized_pnl": "-12.3",
        "trigger": "stop_loss",
        "created_at": "2026-09-21T10:00:00+00:00",
    },
    {
        "trade_id": "t1",
        "symbol": "BTC",
        "side": "buy",
        "size": "0.05",
        "price": "64000",
        "fee": "1.6",
        "realized_pnl": "0",
        "trigger": None,
        "created_at": "2026-09-21T08:00:00+00:00",
    },
]


def build_snapshot(trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    """A snapshot with exactly the shape `gather_context` stores (via snapshot_dict)."""
    feed = SimulatedFeed(seed=7)
    # in a worker thread: asyncio.run here must not replace the test session's event loop
    with ThreadPoolExecutor(1) as pool:
        prices, klines = pool.submit(asyncio.run, market_snapshot(feed, SYMBOLS, AT_MS)).result()
    view = AccountView(
        cash_usd=Decimal("9000"),
        equity_usd=Decimal("10250.5"),
        available_usd=Decimal("8000"),
        used_margin_usd=Decimal("1000"),
        realized_pnl_usd=Decimal(0),
        fees_paid_usd=Decimal(1),
        unrealized_pnl_usd=Decimal("12.5"),
        positions=[
            PositionView(
                symbol="BTC",
                side="long",
                size=Decimal("0.05"),
                entry_price=Decimal("64000"),
                mark_price=prices["BTC"],
                leverage=Decimal("3"),
                unrealized_pnl=Decimal("110.36"),
            ),
            PositionView(
                symbol="SOL",
                side="short",
                size=Decimal("10"),
                entry_price=Decimal("160"),
                mark_price=prices["SOL"],
                leverage=Decimal("2"),
                unrealized_pnl=Decimal("62.77"),
            ),
        ],
    )
    trig = trigger or {"type": "schedule", "interval_seconds": 3600}
    snap = snapshot_dict(SYMBOLS, AT_MS, prices, klines, view, trig)
    return json.loads(json.dumps(snap))  # as stored in the DB (JSON column)


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return build_snapshot()


@pytest.fixture(scope="module")
def values(snapshot: dict[str, Any]) -> dict[str, str]:
    return variables_from_snapshot(snapshot, TRADES)


def test_every_variable_is_present_and_non_empty(values: dict[str, str]) -> None:
    assert set(values) == set(KNOWN_VARIABLES)
    for name, text in values.items():
        assert text.strip(), name
        assert len(text) <= MAX_VARIABLE_CHARS


def test_whole_context_is_bounded(values: dict[str, str]) -> None:
    total = sum(len(v) for v in values.values())
    assert 2000 < total < 7000, total


def test_market_prices(values: dict[str, str], snapshot: dict[str, Any]) -> None:
    text = values["market_prices"]
    assert text.startswith(f"as of {snapshot['now']}")
    for sym in SYMBOLS:
        line = next(x for x in text.splitlines() if x.startswith(f"{sym}: "))
        assert fmt_num(snapshot["prices"][sym]) in line
        assert "1h " in line and "24h " in line and "%" in line


def test_kline_table(values: dict[str, str], snapshot: dict[str, Any]) -> None:
    text = values["kline_data"]
    for sym in SYMBOLS:
        for iv in KLINE_INTERVALS:
            header = f"{sym} {iv} (last {KLINE_ROWS}; UTC open, open high low close volume):"
            assert header in text
            block = text.split(header, 1)[1].strip().splitlines()[:KLINE_ROWS]
            last = snapshot["klines"][sym][iv][-1]
            assert block[-1].split()[5] == fmt_num(last[4])  # close of the newest candle
            assert len(block[0].split()) == 7


def test_indicators_match_talib(values: dict[str, str], snapshot: dict[str, Any]) -> None:
    text = values["technical_indicators"]
    for sym in SYMBOLS:
        line = next(x for x in text.splitlines() if x.startswith(f"{sym} (1h"))
        candles = np.asarray(snapshot["klines"][sym]["1h"], dtype=np.float64)
        close, high, low = candles[:, 4], candles[:, 2], candles[:, 3]
        assert f"RSI14 {talib.RSI(close, 14)[-1]:.1f}" in line
        assert f"EMA20 {fmt_num(talib.EMA(close, 20)[-1])}" in line
        assert f"EMA50 {fmt_num(talib.EMA(close, 50)[-1])}" in line
        macd, sig, hist = talib.MACD(close, 12, 26, 9)
        assert f"MACD {fmt_num(macd[-1])} signal {fmt_num(sig[-1])}" in line
        upper, mid, lower = talib.BBANDS(close, 20, 2.0, 2.0, talib.MA_Type.SMA)
        assert f"BB20 upper {fmt_num(upper[-1])} mid {fmt_num(mid[-1])}" in line
        assert f"ATR14 {fmt_num(talib.ATR(high, low, close, 14)[-1])}" in line


def test_regime(values: dict[str, str]) -> None:
    parts = dict(p.split(": ") for p in values["market_regime"].split(", "))
    assert list(parts) == SYMBOLS
    assert set(parts.values()) <= {"trending", "ranging", "volatile", "calm"}


def test_positions(values: dict[str, str]) -> None:
    lines = values["open_positions"].splitlines()
    assert len(lines) == 2
    btc = lines[0]
    assert btc.startswith("BTC long size 0.05 (notional ")
    assert "entry 64000.00" in btc and "mark " in btc
    assert "uPnL +110.36 USD" in btc and "leverage 3x" in btc
    assert lines[1].startswith("SOL short size 10 ") and "leverage 2x" in lines[1]


def test_balance_and_symbols(values: dict[str, str]) -> None:
    assert values["account_balance"] == (
        "equity 10250.50 USD, available 8000.00 USD, cash 9000.00 USD"
    )
    assert values["symbols"] == "BTC, ETH, SOL"


def test_recent_trades(values: dict[str, str]) -> None:
    lines = values["recent_trades"].splitlines()
    assert lines == [
        "09-21 10:00 ETH sell 0.5 @ 3200.10 realized PnL -12.30 USD fee 0.8 (stop_loss)",
        "09-21 08:00 BTC buy 0.05 @ 64000.00 realized PnL +0.00 USD fee 1.6",
    ]


def test_recent_trades_are_capped(snapshot: dict[str, Any]) -> None:
    many = [dict(TRADES[0], trade_id=str(i)) for i in range(MAX_TRADES + 5)]
    lines = variables_from_snapshot(snapshot, many)["recent_trades"].splitlines()
    assert len(lines) == MAX_TRADES + 1 and lines[-1] == "… 5 older trades not shown"


def test_trigger_is_json(values: dict[str, str]) -> None:
    assert json.loads(values["trigger_context"]) == {"type": "schedule", "interval_seconds": 3600}


def test_sampling_window(values: dict[str, str], snapshot: dict[str, Any]) -> None:
    for line in values["sampling_data"].splitlines():
        sym, rest = line.split(" ", 1)
        closes = rest.split("): ", 1)[1].split()
        assert len(closes) == SAMPLING_POINTS
        expected = [fmt_num(c[4]) for c in snapshot["klines"][sym]["1m"][-SAMPLING_POINTS:]]
        assert closes == expected


def test_rendered_prompt_keeps_injected_trigger_text_literal() -> None:
    snap = build_snapshot({"type": "signal", "note": "{account_balance} {0.__class__}"})
    values = variables_from_snapshot(snap, [])
    out = render("Balance: {account_balance}\nTrigger: {trigger_context}", values)
    assert '"note": "{account_balance} {0.__class__}"' in out
    assert out.count("equity ") == 1


def test_empty_snapshot_does_not_fail() -> None:
    snap = {
        "symbols": ["BTC"],
        "now": "2026-01-01T00:00:00+00:00",
        "prices": {"BTC": "65000"},
        "klines": {"BTC": {"1h": [], "15m": [[1, "x", 2, 3, 4, 5]]}},
        "positions": [],
        "balance": {},
        "trigger": {},
    }
    values = variables_from_snapshot(snap, [])
    assert set(values) == set(KNOWN_VARIABLES)
    assert values["open_positions"] == "none" and values["recent_trades"] == "none"
    assert values["trigger_context"] == "none"
    assert "BTC 1h: n/a" in values["kline_data"]
    assert values["market_regime"] == "BTC: unknown (not enough candles)"
    assert "n/a" in values["technical_indicators"]
    assert values["account_balance"] == "equity n/a, available n/a, cash n/a"


@pytest.mark.parametrize(
    "snap",
    [
        {},
        {"symbols": ["BTC"], "klines": {"BTC": "garbage"}, "positions": ["x"], "balance": None},
        {"symbols": ["BTC"], "klines": [], "prices": {"BTC": None}, "trigger": "text"},
        {"symbols": ["BTC"], "klines": {"BTC": {"1h": [[1, 2, 3]], "1m": None}}, "now": "bad"},
    ],
)
def test_malformed_snapshots_do_not_raise(snap: dict[str, Any]) -> None:
    values = variables_from_snapshot(snap, [{"symbol": 1}, "not a dict"])  # type: ignore[list-item]
    assert set(values) == set(KNOWN_VARIABLES)


def test_short_history_gives_na_indicators(snapshot: dict[str, Any]) -> None:
    snap = json.loads(json.dumps(snapshot))
    snap["klines"]["BTC"]["1h"] = snap["klines"]["BTC"]["1h"][-30:]
    line = variables_from_snapshot(snap, [])["technical_indicators"].splitlines()[0]
    assert "RSI14 " in line and "EMA50 n/a" in line and "MACD n/a" in line


def test_many_symbols_are_bounded(snapshot: dict[str, Any]) -> None:
    syms = [f"S{i}" for i in range(MAX_SYMBOLS + 15)]
    snap = dict(
        snapshot,
        symbols=syms,
        prices={s: snapshot["prices"]["BTC"] for s in syms},
        klines={s: snapshot["klines"]["BTC"] for s in syms},
    )
    values = variables_from_snapshot(snap, [])
    assert "… and 15 more symbols not shown" in values["market_prices"]
    assert all(len(v) <= MAX_VARIABLE_CHARS for v in values.values())
    assert sum(len(v) for v in values.values()) < 10 * MAX_VARIABLE_CHARS


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (97123.456, "97123.46"),
        ("3201.5", "3201.50"),
        (156.1023, "156.102"),
        (3.14159265, "3.14159"),
        (0.000123456789, "0.000123457"),
        (0, "0"),
        (None, "n/a"),
        ("abc", "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_fmt_num(value: Any, text: str) -> None:
    assert fmt_num(value) == text
