"""Everyday numpy/stdlib features keep working inside the jail (no late file access needed).

numpy and the datetime C module import helpers lazily; under seccomp nothing can be loaded any
more, so the sandbox must have preloaded them and must let C-level imports through.
"""

from __future__ import annotations

from typing import Any

from sandbox.runner import SandboxLimits, run_program

LIBRARY_TOUR = r"""
import bisect, cmath, copy, dataclasses, datetime, decimal, enum, fractions, functools, heapq
import itertools, json, math, operator, random, re, statistics, string, typing
import numpy as np
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
from dataclasses import dataclass, field

UTC = datetime.timezone.utc


@dataclass
class P:
    a: float
    b: list = field(default_factory=list)


class Color(enum.Enum):
    RED = 1


T = namedtuple("T", "x y")


def tour(data):
    c = np.array([k["close"] for k in data.get_klines("BTC", limit=100)])
    x = np.arange(100)
    s = [float(v) for v in c]
    months = np.arange("2026-01", "2026-03", dtype="datetime64[M]")
    return [
        ("str", lambda: str(c) + repr(c) + str(np.array([True, False])) + str(np.array(["a"]))),
        ("scalars", lambda: str(np.float64(1.5)) + repr(np.int64(3)) + f"{np.float32(2):.2f}"),
        ("reductions", lambda: (f"{c.mean():.2f}", c.std(ddof=1), c.var(), c.tolist())),
        ("quantiles", lambda: (np.median(c), np.percentile(c, [5, 95]), np.quantile(c, 0.5))),
        ("fit", lambda: (np.polyfit(x, c, 1), np.corrcoef(c, c[::-1]))),
        ("series", lambda: (np.diff(np.log(c)), np.cumsum(c), np.convolve(c, np.ones(5) / 5))),
        ("misc", lambda: (np.histogram(c, bins=10), np.argsort(c), np.where(c > 1, 1, -1))),
        ("nan", lambda: np.nanmean(np.append(c, np.nan))),
        ("linalg", lambda: np.linalg.lstsq(np.vstack([x, np.ones(100)]).T, c, rcond=None)),
        ("inv_fft", lambda: (np.linalg.inv(np.eye(3)), np.fft.rfft(c))),
        ("np_random", lambda: (np.random.default_rng(1).normal(size=3), np.random.rand(2))),
        ("polynomial", lambda: np.polynomial.Polynomial.fit(x, c, 2)),
        ("round", lambda: np.round(np.clip(c, 0, 1e9), 2)),
        ("errstate", lambda: np.errstate(all="ignore").__enter__()),
        ("datetime64", lambda: str(np.datetime64("2026-01-01")) + str(months)),
        ("sliding", lambda: np.lib.stride_tricks.sliding_window_view(c, 5).mean(axis=1)),
        ("statistics", lambda: (statistics.mean(s), statistics.stdev(s), statistics.median(s))),
        ("regression", lambda: statistics.linear_regression([1, 2, 3], [2, 4, 6])),
        ("iso", lambda: datetime.datetime.fromisoformat(data.now.replace("Z", "+00:00"))),
        ("now", lambda: (datetime.datetime.now(UTC).isoformat(), datetime.date.today())),
        ("timestamps", lambda: datetime.datetime.fromtimestamp(0, UTC).strftime("%A %B %c")),
        ("strptime", lambda: datetime.datetime.strptime("2026-11-24 10:00", "%Y-%m-%d %H:%M")),
        ("json", lambda: json.loads(json.dumps({"a": [1, 2.5, None]}, indent=2))),
        ("decimal", lambda: (decimal.Decimal("1.1") * 3).quantize(decimal.Decimal("0.01"))),
        ("fractions", lambda: fractions.Fraction(1, 3) + 1),
        ("re", lambda: re.findall(r"(\d+)\.(\d+)", "a 1.5 b 22.75") + [re.sub(r"\s+", " ", "")]),
        ("random", lambda: (random.random(), random.Random(1).choice([1, 2]), random.gauss(0, 1))),
        ("collections", lambda: (deque([1], maxlen=3), Counter("aab"), defaultdict(list))),
        ("namedtuple", lambda: (OrderedDict(a=1), T(1, 2)._asdict())),
        ("itertools", lambda: list(itertools.pairwise([1, 2, 3]))),
        ("functools", lambda: functools.reduce(operator.add, [1, 2])),
        ("heap_bisect", lambda: (heapq.nlargest(2, [1, 3, 2]), bisect.bisect_left([1, 2], 2))),
        ("dataclass", lambda: (dataclasses.asdict(P(2.0)), copy.deepcopy(P(3.0)))),
        ("enum_typing", lambda: (Color.RED.name, typing.Optional[int])),
        ("formatting", lambda: string.Template("$x").substitute(x=1) + f"{12345.678:>10,.2f}"),
        ("math", lambda: (math.fsum([0.1] * 10), cmath.sqrt(-1), math.prod([1, 2]))),
        ("codecs", lambda: "é".encode("utf-16").decode("utf-16").encode("latin-1")),
        ("bigint", lambda: str(2**10000)[:5]),
        ("print", lambda: print("hello", 1.5, c[:2], sep=" | ")),
    ]


class Strategy:
    def should_trade(self, data):
        problems = []
        for name, fn in tour(data):
            try:
                fn()
            except Exception as exc:
                problems.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
        return Decision(operation="hold", reasoning="\n".join(problems) or "all fine")
"""


async def test_library_tour_inside_the_jail(snapshot: dict[str, Any]) -> None:
    result = await run_program(LIBRARY_TOUR, snapshot, SandboxLimits(wall_seconds=10.0))
    assert result.ok, result.error
    assert result.decision is not None
    assert result.decision["reasoning"] == "all fine"
    assert result.logs.startswith("hello | 1.5 | [")
