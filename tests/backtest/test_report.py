"""The report's extras beyond domain/metrics.py (section 8.8), the breakdowns, and the result
hash: the sha256 of the canonical JSON of config, trades, equity and metrics, which holds no
float, so the same run always hashes the same."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal as D
from typing import Any

from domain.metrics import ratio_text
from strategies.backtest.engine import BacktestEngine
from tests.backtest.support import FEE_10BPS, Script, config, in_memory, long

# long 10 BTC at 100 (fee 1) through a bar down to 95, then flat at 100.5 to the end
BARS: list[Any] = ["100", ("100", "101", "95", "100.5"), "100.5"]


async def report_of(cfg: Any = None) -> Any:
    cfg = cfg or config(3)
    engine = BacktestEngine(cfg, in_memory(cfg, BARS))
    await engine.run(Script({0: long()}))
    return engine.report()


def floats(x: Any) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, dict):
        return any(floats(v) for v in x.values())
    if isinstance(x, list):
        return any(floats(v) for v in x)
    return False


async def test_the_intrabar_drawdown_marks_the_bar_low_against_the_peak() -> None:
    """c1: equity 9999 + 10 x 0.5 = 10004, its low 9999 + 10 x (95 - 100) = 9949: 55 below the
    peak 10004; the bar-close drawdown only sees the end's fee and exit: 10004 - 10002.995."""
    report = await report_of()
    assert report.equity[1] == [report.equity[1][0], "10004", "9949"]
    assert report.metrics["max_drawdown_intrabar_pct"] == ratio_text(float(D(55) / D(10004) * 100))
    assert report.metrics["max_drawdown_pct"] == ratio_text(1.005 / 10004 * 100)


async def test_market_change_is_buy_and_hold_over_the_run() -> None:
    """First decision bar's close 100, last 100.5: +0.5 %."""
    assert (await report_of()).metrics["market_change_pct"] == "0.5"


async def test_the_breakdowns_group_the_trades() -> None:
    report = await report_of()
    assert set(report.breakdowns) == {"symbol", "exit_reason", "side", "month"}
    assert [(x["key"], x["trades"]) for x in report.breakdowns["exit_reason"]] == [
        ("end_of_backtest", 1)
    ]
    assert report.breakdowns["month"][0]["key"] == "2025-01"
    assert report.breakdowns["side"][0]["total_pnl"] == "2.995"  # 5 - 1 - 1.005


async def test_the_hash_is_over_canonical_json_without_floats() -> None:
    report = await report_of()
    payload = {
        "config": config(3).as_json(),
        "trades": report.trades,
        "equity": report.equity,
        "metrics": report.metrics,
    }
    assert not floats(payload)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert report.result_hash == hashlib.sha256(text.encode()).hexdigest()


async def test_the_same_run_hashes_the_same_and_another_config_not() -> None:
    first, again = await report_of(), await report_of()
    assert first == again and first.result_hash == again.result_hash
    other = await report_of(config(3, paper=FEE_10BPS.__class__(taker_fee_bps=D(5))))
    assert other.result_hash != first.result_hash


async def test_the_metrics_carry_the_honesty_counters() -> None:
    m = (await report_of()).metrics
    assert m["decisions"] == {
        "total": 3, "long": 1, "short": 0, "close": 0, "hold": 2, "denied": 0, "failed": 0,
        "rejected": 0,
    }  # fmt: skip
    assert (m["ambiguous_exits"], m["data_gaps"], m["denied_by_code"]) == (0, 0, {})
    assert m["total_pnl"] == "2.995" and m["total_trades"] == 1
    assert m["total_slippage_cost"] == "0" and m["funding_coverage_pct"] is None
