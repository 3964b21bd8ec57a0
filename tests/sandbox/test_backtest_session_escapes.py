"""The escape corpus, each entry as one step of a backtest session: contained as a live run is
(the same codes, nothing leaked), and the session's next step answers as its step before.
Fork mode only: in spawn mode a session's steps are `run_program` runs, which the corpus
covers already."""

from __future__ import annotations

import json
import re

import pytest

from sandbox.backtest_session import BacktestSession
from sandbox.runner import SandboxLimits
from tests.sandbox.backtest_history import account, history, step_time
from tests.sandbox.escape_corpus import CANARY_PREFIX, CORPUS, Escape
from tests.sandbox.test_escape_corpus import NORMAL, canary  # noqa: F401 - the fixture

LIMITS = SandboxLimits(wall_seconds=3.0, cpu_seconds=1, memory_mb=384, compile_seconds=1.0)
CANDLES = history(hours=104, symbols=("BTC", "ETH"))


@pytest.mark.parametrize("escape", CORPUS, ids=lambda e: e.name)
async def test_escape_is_contained_in_a_session(
    escape: Escape,
    sandbox_mode: str,
    canary: str,  # noqa: F811 - the fixture
) -> None:
    if sandbox_mode != "fork":
        pytest.skip("a session's steps in spawn mode are run_program runs")
    hostile = escape.code.replace("PORT", "9")  # nothing listens there: no way out anyway
    async with BacktestSession(NORMAL, CANDLES, LIMITS) as normal:
        before = await normal.step(0, step_time(0), account(CANDLES, 0))
    assert before.ok, before
    async with BacktestSession(hostile, CANDLES, LIMITS) as session:
        results = []
        for step in (1, 2):
            results.append(await session.step(step, step_time(step), account(CANDLES, step)))
            if step == 1:
                link = session.link
        # The session parent took no harm: the second step ran on the same one (none at all
        # for a program refused before it runs).
        assert session.link is link and (link is None or link.alive)
    for result in results:
        assert not result.ok, f"{escape.name} got out: {result}"
        assert result.error_code in escape.codes, result
        assert re.search(escape.expect, result.error or ""), result
        for text in (result.logs, result.error or "", json.dumps(result.decision)):
            assert canary not in text and CANARY_PREFIX not in text
    async with BacktestSession(NORMAL, CANDLES, LIMITS) as normal:
        after = await normal.step(0, step_time(0), account(CANDLES, 0))
    assert after.decision == before.decision, after
