"""Crafted bars in the candles table, a scripted in-process decider, and a run of the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from config.settings import async_url
from db.candles import store_candles
from db.market_history import FundingRateRecord
from db.session import Sessions, make_engine, make_sessionmaker
from domain.decision import Decision
from domain.market import Candle, Interval
from domain.paper import PaperConfig
from domain.risk import RiskLimits
from strategies.backtest.contract import BacktestConfig, BacktestReport, StepInput, StepOutcome
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import load_history

SOURCE = "test"
MIN = 60_000
HOUR = 3_600_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z: the first warm-up bar opens here
START = T0 + 100 * HOUR  # the first decision: 100 warm-up bars closed before it
WIDE = RiskLimits(
    max_leverage=Decimal(50),
    max_position_notional_usd=Decimal(100000),
    max_concurrent_positions=3,
)
FEE_10BPS = PaperConfig(taker_fee_bps=Decimal(10), slippage_bps=Decimal(0))

D = Decimal
OHLC = tuple[str, str, str, str]


@asynccontextmanager
async def database(url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(async_url(url))
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def candle(open_ms: int, ohlc: OHLC | str) -> Candle:
    o, h, low, c = (ohlc, ohlc, ohlc, ohlc) if isinstance(ohlc, str) else ohlc
    return Candle(open_ms, D(o), D(h), D(low), D(c), D(1))


async def store_bars(
    sessions: Sessions,
    bars: list[OHLC | str],
    symbol: str = "BTC",
    interval: Interval = Interval.H1,
    first_open: int = T0,
) -> None:
    """`bars` one after the other from `first_open`."""
    candles = [candle(first_open + i * interval.ms, b) for i, b in enumerate(bars)]
    await store_candles(sessions, SOURCE, symbol, interval, candles)


async def store_hourly(
    sessions: Sessions, run: list[OHLC | str], symbol: str = "BTC", warm: str = "100"
) -> None:
    """100 flat warm-up hours at `warm`, then `run`: run[k] is decision bar k (o_k = START - 1h
    + k hours), so run[0] closes at START, the first decision."""
    await store_bars(sessions, [warm] * 99 + list(run), symbol)


async def store_funding(sessions: Sessions, rates: Mapping[int, str], symbol: str = "BTC") -> None:
    async with sessions() as s, s.begin():
        await s.execute(
            insert(FundingRateRecord),
            [
                {"source": "hyperliquid", "symbol": symbol, "funding_time_ms": t, "rate": D(r)}
                for t, r in rates.items()
            ],
        )


def config(steps: int, **kw: Any) -> BacktestConfig:
    """A 1h run over `steps` decisions from START."""
    base: dict[str, Any] = {
        "symbols": ("BTC",),
        "interval": Interval.H1,
        "start_ms": START,
        "end_ms": START + (steps - 1) * HOUR,
        "initial_balance": D(10000),
        "paper": FEE_10BPS,
        "funding": False,
        "intrabar": "auto",
        "limits": WIDE,
    }
    return BacktestConfig(**{**base, **kw})


class Script:
    """A decider answering `decisions[step]` (hold otherwise), keeping what it was given."""

    def __init__(self, decisions: Mapping[int, Decision | StepOutcome] | None = None) -> None:
        self.decisions = dict(decisions or {})
        self.seen: list[StepInput] = []

    async def __call__(self, step: StepInput) -> StepOutcome:
        self.seen.append(step)
        answer = self.decisions.get(step.step, Decision(operation="hold"))
        return answer if isinstance(answer, StepOutcome) else StepOutcome(answer)


def long(size: str = "1000", **kw: Any) -> Decision:
    return Decision(operation="long", symbol="BTC", size_usd=D(size), **kw)


def short(size: str = "1000", **kw: Any) -> Decision:
    return Decision(operation="short", symbol="BTC", size_usd=D(size), **kw)


CLOSE = Decision(operation="close", symbol="BTC")


async def run(
    sessions: Sessions, cfg: BacktestConfig, decide: Callable[..., Any]
) -> BacktestReport:
    engine = BacktestEngine(cfg, await load_history(sessions, cfg))
    await engine.run(decide)
    return engine.report()


def equity(report: BacktestReport) -> list[Decimal]:
    return [D(p[1]) for p in report.equity]


def only_trade(report: BacktestReport) -> dict[str, Any]:
    assert len(report.trades) == 1, report.trades
    return report.trades[0]
