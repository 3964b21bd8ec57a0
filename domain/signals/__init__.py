"""Signal definitions and pools, their evaluation on candles, and edge-triggered firing.

Pure: no I/O, no clock, no randomness. One module per role, each importing only those listed
before it, and edge and evaluate not each other (an import-linter contract in pyproject.toml
keeps it so):

  vocabulary   indicators, operators, pool logic, periods, references (the words)
  forms        the older nested definition form and type/direction keys, made flat
  definitions  SignalDefinition, parse_definition
  pools        SignalPool and the results of evaluating one (SignalResult, SignalMatch,
               PoolResult)
  series       an indicator's series over candles (numpy, TA-Lib via domain.indicators)
  evaluate     a definition or a pool on candles
  edge         the edge/cooldown state machine and the fires it emits (EdgeState, PoolFire)

Importing this package loads pydantic and the standard library only: numpy and TA-Lib are
loaded by the evaluation functions, so workflow code can import and (de)serialise these models
without numpy. The public names of every module are importable from here.
"""

from __future__ import annotations

from domain.ids import fire_id
from domain.indicator_periods import (
    MACD_FAST,
    MACD_SIGNAL,
    MACD_SLOW,
    MAX_PERIOD,
    MIN_PERIOD,
    macd_periods,
)
from domain.signals.definitions import SignalDefinition, parse_definition
from domain.signals.edge import EdgeState, PoolFire, step, step_pool
from domain.signals.evaluate import (
    EQ_REL_TOL,
    closed_candles,
    compare,
    crosses,
    definition_series,
    evaluate_definition,
    evaluate_pool,
    is_equal,
)
from domain.signals.pools import (
    MAX_COOLDOWN_SECONDS,
    MAX_SYMBOL_CHARS,
    PoolResult,
    SignalMatch,
    SignalPool,
    SignalResult,
)
from domain.signals.vocabulary import (
    BB_DEFAULT_PERIOD,
    BB_INDICATORS,
    DEFAULT_PERIODS,
    EXTRA_INDICATORS,
    MACD_INDICATORS,
    MAX_AVG_MULTIPLIER,
    MAX_NAME_CHARS,
    MIN_PERIODS,
    PRICE_SCALE,
    ExtraSeries,
    Indicator,
    Operator,
    PoolLogic,
    ReferenceSpec,
    SignalId,
    check_period,
    default_period,
    parse_reference,
)

__all__ = [
    "BB_DEFAULT_PERIOD",
    "BB_INDICATORS",
    "DEFAULT_PERIODS",
    "EQ_REL_TOL",
    "EXTRA_INDICATORS",
    "MACD_FAST",
    "MACD_INDICATORS",
    "MACD_SIGNAL",
    "MACD_SLOW",
    "MAX_AVG_MULTIPLIER",
    "MAX_COOLDOWN_SECONDS",
    "MAX_NAME_CHARS",
    "MAX_PERIOD",
    "MAX_SYMBOL_CHARS",
    "MIN_PERIOD",
    "MIN_PERIODS",
    "PRICE_SCALE",
    "EdgeState",
    "ExtraSeries",
    "Indicator",
    "Operator",
    "PoolFire",
    "PoolLogic",
    "PoolResult",
    "ReferenceSpec",
    "SignalDefinition",
    "SignalId",
    "SignalMatch",
    "SignalPool",
    "SignalResult",
    "check_period",
    "closed_candles",
    "compare",
    "crosses",
    "default_period",
    "definition_series",
    "evaluate_definition",
    "evaluate_pool",
    "fire_id",
    "is_equal",
    "macd_periods",
    "parse_definition",
    "parse_reference",
    "step",
    "step_pool",
]
