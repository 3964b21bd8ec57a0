"""The factor histories' statements on both databases (db/factor_history.py): at most one
open-interest sample per source, symbol and minute (the first stands); the funding history is
each symbol's last HISTORY_SAMPLES rates settled on or before the decision time, oldest first."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import create_engine, insert, select

from config.settings import sync_url
from db.factor_history import (
    FUNDING,
    HISTORY_SAMPLES,
    OI,
    factor_histories,
    record_open_interest,
)

M = 1_764_547_200_000  # a whole minute


def test_one_open_interest_sample_per_minute(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        for at, value in ((M + 1_000, "1000"), (M + 59_999, "1200"), (M + 60_000, "1300")):
            with engine.begin() as c:
                record_open_interest(c, "hyperliquid", {"BTC": value, "ETH": "7"}, at)
        with engine.connect() as c:
            rows = c.execute(
                select(OI.c.time_ms, OI.c.open_interest)
                .where(OI.c.symbol == "BTC")
                .order_by(OI.c.time_ms)
            ).all()
    finally:
        engine.dispose()
    assert [(t, Decimal(v)) for t, v in rows] == [(M, 1000), (M + 60_000, 1300)]


def test_the_funding_history_is_the_last_rates_up_to_the_decision_time(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    times = [M - i * 3_600_000 for i in range(HISTORY_SAMPLES + 10)][::-1]
    rows = [
        {"source": "binance", "symbol": sym, "funding_time_ms": t, "rate": Decimal(i)}
        for sym in ("BTC", "ETH")
        for i, t in enumerate([*times, M + 1])  # the last: settled after the decision
    ]
    try:
        with engine.begin() as c:
            c.execute(insert(FUNDING), rows)
        with engine.connect() as c:
            out = factor_histories(c, "binance", ["BTC", "ETH"], M)
            other = factor_histories(c, "hyperliquid", ["BTC"], M)
    finally:
        engine.dispose()
    want = [float(i) for i in range(10, HISTORY_SAMPLES + 10)]
    history = out["funding_history"]
    assert {s: [float(v) for v in vs] for s, vs in history.items()} == {"BTC": want, "ETH": want}
    assert "open_interest_history" not in out  # no current open interest: none given
    assert other == {"funding_history": {}}
