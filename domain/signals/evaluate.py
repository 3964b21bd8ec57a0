"""Evaluating signal definitions and pools on candles (pure: no I/O, no clock, no randomness).

Comparisons use a relative tolerance of 1e-9 for equality: `==` is math.isclose(rel_tol=1e-9),
`>=`/`<=` are "> or ==" / "< or ==", and `>`/`<` exclude the tolerant-equal case (so `>` and `<=`
are exact complements). crosses_above is prev_left <= prev_right and left > right on the last two
closed candles; crosses_below is prev_left >= prev_right and left < right.

numpy and TA-Lib (domain.signals.series) are imported by the evaluation functions only, so that
workflow code importing this package never loads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from domain.market import Candle, Interval, interval_ms
from domain.signals.definitions import SignalDefinition
from domain.signals.pools import PoolResult, SignalMatch, SignalPool, SignalResult
from domain.signals.vocabulary import DEFAULT_PERIODS, ExtraSeries, Indicator, Operator, PoolLogic

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

EQ_REL_TOL = 1e-9


def is_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=EQ_REL_TOL, abs_tol=0.0)


def compare(op: Operator | str, left: float, right: float) -> bool:
    """left <op> right for the non-crossing operators (tolerant equality, see module doc)."""
    op = Operator(op)
    if op is Operator.EQ:
        return is_equal(left, right)
    if op is Operator.GE:
        return left > right or is_equal(left, right)
    if op is Operator.LE:
        return left < right or is_equal(left, right)
    if op is Operator.GT:
        return left > right and not is_equal(left, right)
    if op is Operator.LT:
        return left < right and not is_equal(left, right)
    raise ValueError(f"{op.value} compares two candles; use crosses()")


def crosses(
    op: Operator | str, prev_left: float, prev_right: float, left: float, right: float
) -> bool:
    op = Operator(op)
    if op is Operator.CROSSES_ABOVE:
        return compare("<=", prev_left, prev_right) and compare(">", left, right)
    if op is Operator.CROSSES_BELOW:
        return compare(">=", prev_left, prev_right) and compare("<", left, right)
    raise ValueError(f"{op.value} is not a crossing operator")


def closed_candles(
    candles: Sequence[Candle], timeframe: Interval | str, now_ms: int | None
) -> Sequence[Candle]:
    """`candles` minus the trailing ones still open at now_ms (none dropped if now_ms is None)."""
    if now_ms is None:
        return candles
    step = interval_ms(timeframe)
    end = len(candles)
    while end and candles[end - 1].open_time_ms + step > now_ms:
        end -= 1
    return candles[:end]


def definition_series(
    defn: SignalDefinition,
    candles: Sequence[Candle],
    extra: Mapping[str, ExtraSeries] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(left, right) float64 arrays aligned to `candles` (NaN where undefined)."""
    import numpy as np

    from domain.signals import series as ind

    left = ind.series(candles, defn.indicator, defn.period, extra)
    if defn.threshold is not None:
        return left, np.full(len(candles), float(defn.threshold), dtype=np.float64)
    spec = defn.reference_spec()
    assert spec is not None
    if spec.kind == "volume_avg":
        assert spec.multiplier is not None
        right = ind.volume_average(candles, spec.period or DEFAULT_PERIODS[Indicator.VOLUME])
        return left, right * spec.multiplier
    if spec.kind == "signal_line":
        return left, ind.series(candles, Indicator.MACD_SIGNAL, defn.period, extra)
    return left, ind.series(candles, spec.kind, spec.period, extra)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def evaluate_definition(
    defn: SignalDefinition,
    candles: Sequence[Candle],
    extra: Mapping[str, ExtraSeries] | None = None,
    *,
    now_ms: int | None = None,
) -> SignalResult:
    """Evaluate `defn` on the last closed candle of `candles` (oldest first, of defn.timeframe).

    All candles are taken as closed unless now_ms is given, in which case trailing candles whose
    close time (open + timeframe) is after now_ms are dropped. `extra` holds funding_rate /
    open_interest series. Not enough history (NaN on either side) never matches. The
    `enabled` flag is not consulted here (pools skip disabled definitions)."""
    candles = closed_candles(candles, defn.timeframe, now_ms)
    if not candles:
        return SignalResult(matched=False)
    left, right = definition_series(defn, candles, extra)
    lv, rv = float(left[-1]), float(right[-1])
    value, ref_value = _finite(lv), _finite(rv)
    t = candles[-1].open_time_ms
    if value is None or ref_value is None:
        return SignalResult(matched=False, value=value, reference_value=ref_value, candle_time_ms=t)
    if defn.operator.is_crossing:
        if len(candles) < 2:
            matched = False
        else:
            pl, pr = float(left[-2]), float(right[-2])
            matched = (
                math.isfinite(pl) and math.isfinite(pr) and crosses(defn.operator, pl, pr, lv, rv)
            )
    else:
        matched = compare(defn.operator, lv, rv)
    return SignalResult(matched=matched, value=value, reference_value=ref_value, candle_time_ms=t)


def evaluate_pool(
    pool: SignalPool,
    definitions: Mapping[Any, SignalDefinition],
    candles_by_symbol_and_tf: Mapping[str, Mapping[str, Sequence[Candle]]],
    extra: Mapping[str, Mapping[str, ExtraSeries]] | None = None,
    *,
    now_ms: int | None = None,
) -> dict[str, PoolResult]:
    """The pool's condition per symbol: {symbol: PoolResult} for every pool symbol.

    candles_by_symbol_and_tf is {symbol: {timeframe ("1h" or Interval): candles oldest first}};
    extra is {symbol: {"funding_rate" | "open_interest": series}}. Disabled definitions and ids
    missing from `definitions` are skipped; a disabled pool, or one with no enabled definition,
    is false everywhere. and: every enabled signal matched; or: at least one did."""
    enabled = [
        (sid, definitions[sid])
        for sid in pool.signal_ids
        if sid in definitions and definitions[sid].enabled
    ]
    out: dict[str, PoolResult] = {}
    for symbol in pool.symbols:
        if not pool.enabled or not enabled:
            out[symbol] = PoolResult(symbol=symbol, condition=False)
            continue
        by_tf = candles_by_symbol_and_tf.get(symbol, {})
        sym_extra = extra.get(symbol) if extra else None
        evaluated: list[SignalMatch] = []
        for sid, defn in enabled:
            res = evaluate_definition(
                defn, by_tf.get(defn.timeframe.value, ()), sym_extra, now_ms=now_ms
            )
            evaluated.append(
                SignalMatch(
                    signal_id=sid,
                    name=defn.name,
                    indicator=defn.indicator,
                    operator=defn.operator,
                    threshold=defn.threshold,
                    reference=defn.reference,
                    timeframe=defn.timeframe,
                    matched=res.matched,
                    value=res.value,
                    reference_value=res.reference_value,
                    candle_time_ms=res.candle_time_ms,
                )
            )
        flags = [m.matched for m in evaluated]
        condition = all(flags) if pool.logic is PoolLogic.AND else any(flags)
        times = [m.candle_time_ms for m in evaluated if m.candle_time_ms is not None]
        out[symbol] = PoolResult(
            symbol=symbol,
            condition=condition,
            candle_time_ms=max(times) if times else None,
            matches=[m for m in evaluated if m.matched],
            evaluated=evaluated,
        )
    return out
