"""A pool is evaluated on the history its definitions need. It used to fetch a fixed 300
candles, so a saved definition with a longer period (periods go up to 500) had no value and
never matched, silently."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.market.signal_pools import EVAL_CANDLES, candles_to_fetch, evaluate_stored_pool
from adapters.market.simulated import SimulatedFeed
from config.settings import async_url
from db.models import SignalDefinitionRecord, SignalPoolRecord
from db.session import make_engine, make_sessionmaker
from domain.market import Interval
from domain.signals import parse_definition

SMA_450 = {"indicator": "sma", "period": 450, "operator": ">", "threshold": 0, "timeframe": "1h"}


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(sqlite_url))
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.mark.parametrize(
    ("spec", "needed"),
    [
        ({"indicator": "price", "operator": ">", "threshold": 0}, 2),
        ({"indicator": "rsi", "operator": "<", "threshold": 30}, 16),  # rsi(14) + previous
        ({"indicator": "sma", "period": 450, "operator": ">", "threshold": 0}, 451),
        ({"indicator": "price", "operator": "crosses_above", "reference": "ema_480"}, 481),
        ({"indicator": "macd", "period": 500, "operator": ">", "threshold": 0}, 509),
        ({"indicator": "volume", "period": 400, "operator": ">", "reference": "2x_avg"}, 402),
        ({"indicator": "price", "period": 300, "operator": ">", "reference": "bb_upper"}, 301),
    ],
)
def test_a_definition_knows_the_history_it_needs(spec: dict, needed: int) -> None:
    assert parse_definition({"name": "s", **spec}).candles_needed() == needed


def test_each_timeframe_gets_the_longest_need_and_never_less_than_before() -> None:
    defs = [
        parse_definition({"name": "a", **SMA_450}),
        parse_definition({"name": "b", **{**SMA_450, "period": 20}}),
        parse_definition({"name": "c", **{**SMA_450, "timeframe": "5m", "period": 20}}),
        parse_definition({"name": "off", **{**SMA_450, "timeframe": "1m"}, "enabled": False}),
    ]
    need = candles_to_fetch(defs)
    assert need == {Interval("1h"): 451 + 100, Interval("5m"): EVAL_CANDLES}


async def test_a_long_period_signal_matches(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        s.add(SignalDefinitionRecord(id=1, name="long average", spec=SMA_450))
        s.add(SignalPoolRecord(id=1, name="p", symbols=["BTC"], signal_ids=[1], logic="and"))
    now_ms = int(time.time() * 1000)
    out = await evaluate_stored_pool(sessions, SimulatedFeed(), 1, now_ms)
    result = out.results["BTC"]
    assert result.condition is True, result  # prices are positive: their 450-hour mean is too
    assert result.evaluated[0].value is not None
