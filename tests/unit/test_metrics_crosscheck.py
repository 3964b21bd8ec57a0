"""domain/metrics.py's Sharpe, Sortino, max drawdown and CAGR agree with an independent numpy
implementation (written here from the spec's formulas, vectorised) on 100 random equity series,
to 1e-9: the fsum-and-Decimal code and the textbook arrays must say the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain import metrics

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def reference(e: np.ndarray) -> dict[str, float]:
    """One point a day at noon: the daily closes are E_0 then every point."""
    closes = np.concatenate([e[:1], e])
    d = closes[1:] / closes[:-1] - 1
    peak = np.maximum.accumulate(e)
    days = len(e) - 1
    return {
        "sharpe_ratio": d.mean() / d.std(ddof=1) * np.sqrt(365),
        "sortino_ratio": d.mean() / np.sqrt(np.mean(np.minimum(d, 0) ** 2)) * np.sqrt(365),
        "volatility_annualized_pct": d.std(ddof=1) * np.sqrt(365) * 100,
        "max_drawdown_pct": ((peak - e) / peak).max() * 100,
        "cagr_pct": ((e[-1] / e[0]) ** (365 / days) - 1) * 100,
    }


@pytest.mark.parametrize("seed", range(100))
def test_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 400))
    steps = rng.normal(0.0005, 0.02, n - 1)
    raw = 10_000 * np.cumprod(np.concatenate([[1.0], 1 + steps]))
    equity = np.round(raw, 6)  # what a money column holds, the same values on both sides
    series = [(T0 + timedelta(days=i), Decimal(f"{x:.6f}")) for i, x in enumerate(equity)]
    got = metrics.summary([], series)
    for key, want in reference(equity).items():
        assert got[key] == pytest.approx(float(want), rel=1e-9, abs=1e-12), key
