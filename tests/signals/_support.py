"""Candle builders for the signal tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.market import Candle, interval_ms

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # an hour-aligned epoch ms


def make_candles(
    closes: Sequence[float | str],
    volumes: Sequence[float | str] | None = None,
    *,
    highs: Sequence[float | str] | None = None,
    lows: Sequence[float | str] | None = None,
    timeframe: str = "1h",
    start_ms: int = T0,
) -> list[Candle]:
    step = interval_ms(timeframe)
    out: list[Candle] = []
    for i, c in enumerate(closes):
        close = Decimal(str(c))
        out.append(
            Candle(
                open_time_ms=start_ms + i * step,
                open=close,
                high=Decimal(str(highs[i])) if highs is not None else close + 1,
                low=Decimal(str(lows[i])) if lows is not None else close - 1,
                close=close,
                volume=Decimal(str(volumes[i])) if volumes is not None else Decimal(100),
            )
        )
    return out
