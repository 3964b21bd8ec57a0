"""Signal definitions and pools, their evaluation on candles, and edge-triggered firing.

Pure and sandbox-safe: no I/O, no clock, no randomness. The models import only pydantic and the
standard library; numpy / TA-Lib are loaded lazily (via `domain.indicator_series`) by the evaluation
functions only, so workflow code can import and (de)serialise these models without numpy.

A definition compares a *left* series (the indicator) with a *right* series (a constant threshold or
a reference series) on the last closed candle:

  indicator  price | volume | rsi | ema | sma | macd | macd_signal | macd_hist | bb_upper |
             bb_middle | bb_lower | atr | funding_rate | open_interest | price_change_pct
  operator   > | < | >= | <= | == | crosses_above | crosses_below
  threshold  a number (a constant line; also allowed with crosses_*)
  reference  price | ema_<n> | sma_<n> | bb_upper | bb_middle | bb_lower  (price-scale indicators:
             price, ema, sma, bb_*), signal_line (macd only), <k>x_avg (volume only: k times the
             mean volume of the `period` candles before the evaluated one). bb_* may carry a period
             suffix (bb_upper_30); without it the period is the definition's own when the
             indicator is price or bb_*, else 20.

Periods (`period` None means the default): rsi 14 (min 2), ema 14, sma 14, atr 14, bb_* 20 (min 2),
macd/macd_signal/macd_hist 26 = the SLOW period (fast round(slow*12/26), signal 9, min 3; so the
default is MACD(12, 26, 9)), volume 20 (the averaging window of <k>x_avg), price_change_pct 1
(percent change over `period` candles). price, funding_rate and open_interest have no period
(price uses it for a bb_* reference). Every period is within 1..500.

Comparisons use a relative tolerance of 1e-9 for equality: `==` is math.isclose(rel_tol=1e-9),
`>=`/`<=` are "> or ==" / "< or ==", and `>`/`<` exclude the tolerant-equal case (so `>` and `<=`
are exact complements). crosses_above is prev_left <= prev_right and left > right on the last two
closed candles; crosses_below is prev_left >= prev_right and left < right.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from domain.market import Candle, Interval, interval_ms, parse_interval

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

MIN_PERIOD = 1
MAX_PERIOD = 500
MAX_NAME_CHARS = 100
MAX_SYMBOL_CHARS = 32
MAX_COOLDOWN_SECONDS = 30 * 86400
MAX_AVG_MULTIPLIER = 1000
EQ_REL_TOL = 1e-9
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9

SignalId = int | str
# An extra (non-candle) series: either values aligned to the candles (right-aligned: the last
# value belongs to the last candle) or {time_ms: value} samples, applied as-of (see
# domain.indicator_series.extra_series).
ExtraSeries = Sequence[float | Decimal | None] | Mapping[int, float | Decimal | None]


class Indicator(StrEnum):
    PRICE = "price"
    VOLUME = "volume"
    RSI = "rsi"
    EMA = "ema"
    SMA = "sma"
    MACD = "macd"
    MACD_SIGNAL = "macd_signal"
    MACD_HIST = "macd_hist"
    BB_UPPER = "bb_upper"
    BB_MIDDLE = "bb_middle"
    BB_LOWER = "bb_lower"
    ATR = "atr"
    FUNDING_RATE = "funding_rate"
    OPEN_INTEREST = "open_interest"
    PRICE_CHANGE_PCT = "price_change_pct"


class Operator(StrEnum):
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    EQ = "=="
    CROSSES_ABOVE = "crosses_above"
    CROSSES_BELOW = "crosses_below"

    @property
    def is_crossing(self) -> bool:
        return self in (Operator.CROSSES_ABOVE, Operator.CROSSES_BELOW)


class PoolLogic(StrEnum):
    AND = "and"
    OR = "or"


BB_INDICATORS = frozenset({Indicator.BB_UPPER, Indicator.BB_MIDDLE, Indicator.BB_LOWER})
MACD_INDICATORS = frozenset({Indicator.MACD, Indicator.MACD_SIGNAL, Indicator.MACD_HIST})
PRICE_SCALE = frozenset({Indicator.PRICE, Indicator.EMA, Indicator.SMA}) | BB_INDICATORS
EXTRA_INDICATORS = frozenset({Indicator.FUNDING_RATE, Indicator.OPEN_INTEREST})

# Indicators that use `period`, with their default; the others have none.
DEFAULT_PERIODS: dict[Indicator, int] = {
    Indicator.RSI: 14,
    Indicator.EMA: 14,
    Indicator.SMA: 14,
    Indicator.ATR: 14,
    Indicator.BB_UPPER: 20,
    Indicator.BB_MIDDLE: 20,
    Indicator.BB_LOWER: 20,
    Indicator.MACD: MACD_SLOW,
    Indicator.MACD_SIGNAL: MACD_SLOW,
    Indicator.MACD_HIST: MACD_SLOW,
    Indicator.VOLUME: 20,
    Indicator.PRICE_CHANGE_PCT: 1,
}
BB_DEFAULT_PERIOD = 20
# TA-Lib rejects shorter periods for these.
MIN_PERIODS: dict[Indicator, int] = {
    Indicator.RSI: 2,
    Indicator.BB_UPPER: 2,
    Indicator.BB_MIDDLE: 2,
    Indicator.BB_LOWER: 2,
    Indicator.MACD: 3,
    Indicator.MACD_SIGNAL: 3,
    Indicator.MACD_HIST: 3,
}


def default_period(indicator: str) -> int | None:
    """The default period of `indicator`, or None if it takes no period."""
    return DEFAULT_PERIODS.get(Indicator(indicator))


def check_period(indicator: str, period: int) -> int:
    """`period` if it is valid for `indicator`; ValueError with a clear message otherwise."""
    if isinstance(period, bool) or not isinstance(period, int):
        raise ValueError(f"period must be an integer, got {period!r}")
    low = MIN_PERIODS.get(Indicator(indicator), MIN_PERIOD)
    if not low <= period <= MAX_PERIOD:
        raise ValueError(
            f"period for {indicator} must be between {low} and {MAX_PERIOD}, got {period}"
        )
    return period


def macd_periods(slow: int) -> tuple[int, int, int]:
    """(fast, slow, signal) for a MACD whose slow period is `slow`: (12, 26, 9) for 26."""
    fast = max(2, round(slow * MACD_FAST / MACD_SLOW))
    if fast >= slow:
        fast = max(2, slow - 1)
    return fast, slow, MACD_SIGNAL


# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------

_REFERENCE_HELP = (
    "expected one of: price, ema_<n>, sma_<n>, bb_upper, bb_middle, bb_lower (optionally "
    "bb_upper_<n>), signal_line, <k>x_avg (e.g. 2x_avg)"
)
_MA_RE = re.compile(r"^(ema|sma)_(\d+)$")
_BB_RE = re.compile(r"^(bb_upper|bb_middle|bb_lower)(?:_(\d+))?$")
_XAVG_RE = re.compile(r"^(\d+(?:\.\d+)?)x_avg$")


@dataclass(frozen=True, slots=True)
class ReferenceSpec:
    """A parsed reference. kind is an Indicator value, "signal_line" or "volume_avg"; period None
    means "resolved from the definition" (bb_* without suffix); multiplier only for volume_avg."""

    kind: str
    period: int | None = None
    multiplier: float | None = None


def parse_reference(text: str) -> ReferenceSpec:
    """Parse a reference string ("ema_50", "2x_avg", ...); ValueError for anything else."""
    ref = text.strip().lower()
    if ref == "price":
        return ReferenceSpec(Indicator.PRICE.value)
    if ref == "signal_line":
        return ReferenceSpec("signal_line")
    m = _MA_RE.match(ref)
    if m:
        return ReferenceSpec(m.group(1), check_period(m.group(1), int(m.group(2))))
    m = _BB_RE.match(ref)
    if m:
        period = check_period(m.group(1), int(m.group(2))) if m.group(2) else None
        return ReferenceSpec(m.group(1), period)
    m = _XAVG_RE.match(ref)
    if m:
        k = float(m.group(1))
        if not 0 < k <= MAX_AVG_MULTIPLIER:
            raise ValueError(
                f"the multiplier of {text!r} must be above 0 and at most {MAX_AVG_MULTIPLIER}"
            )
        return ReferenceSpec("volume_avg", None, k)
    raise ValueError(f"unknown reference {text!r}; {_REFERENCE_HELP}")


def _is_xavg(value: object) -> bool:
    return isinstance(value, str) and bool(_XAVG_RE.match(value.strip().lower()))


# ---------------------------------------------------------------------------------------------
# The older nested form {"name", "type", "config": {...}} and flat "type"/"direction" keys
# ---------------------------------------------------------------------------------------------

_NESTED_TOP_KEYS = frozenset({"name", "type", "config", "enabled"})
_NESTED_CONFIG_KEYS = frozenset(
    {"indicator", "operator", "direction", "threshold", "reference", "period", "timeframe"}
)
_SIGNAL_TYPES = ("threshold", "crossover")


def _normalise_form(data: dict[str, Any]) -> dict[str, Any]:
    if "config" in data:
        unknown = sorted(set(data) - _NESTED_TOP_KEYS)
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)} in a nested signal definition; "
                f"allowed: {', '.join(sorted(_NESTED_TOP_KEYS))}"
            )
        config = data["config"]
        if not isinstance(config, Mapping):
            raise ValueError('config must be an object such as {"indicator": "rsi", ...}')
        unknown = sorted(set(config) - _NESTED_CONFIG_KEYS)
        if unknown:
            raise ValueError(
                f"unknown config field(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(_NESTED_CONFIG_KEYS))}"
            )
        if "type" not in data:
            raise ValueError("a nested signal definition needs a type: threshold or crossover")
        flat = {k: v for k, v in data.items() if k not in ("config", "type")}
        flat.update(config)
        flat["type"] = data["type"]
        data = flat
    sig_type = data.pop("type", None)
    direction = data.pop("direction", None)
    if sig_type is None and direction is None:
        return data
    if direction is not None:
        if not isinstance(direction, str) or direction.strip().lower() not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
        direction = direction.strip().lower()
        if data.get("operator") is not None:
            raise ValueError("give either operator or direction, not both")
    operator = data.get("operator")
    op_text = str(operator).strip().lower() if operator is not None else None
    kind = str(sig_type).strip().lower() if sig_type is not None else None
    if kind == "pattern":
        raise ValueError("signal type 'pattern' is not supported; use 'threshold' or 'crossover'")
    if kind is not None and kind not in _SIGNAL_TYPES:
        raise ValueError(f"unknown signal type {sig_type!r}; expected threshold or crossover")
    if kind == "crossover":
        if direction is not None:
            data["operator"] = f"crosses_{direction}"
        elif op_text is None:
            raise ValueError("a crossover signal needs direction 'above' or 'below'")
        elif op_text not in (Operator.CROSSES_ABOVE, Operator.CROSSES_BELOW):
            raise ValueError(
                "a crossover signal needs operator crosses_above or crosses_below, "
                f"got {operator!r}"
            )
    else:  # threshold, or no type with a direction
        if direction is not None:
            data["operator"] = ">" if direction == "above" else "<"
        elif op_text in (Operator.CROSSES_ABOVE, Operator.CROSSES_BELOW):
            raise ValueError(
                f"a threshold signal cannot use operator {op_text}; use type 'crossover'"
            )
    return data


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def _clean_name(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("name must be a non-empty string")
    name = str(v).strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name must be at most {MAX_NAME_CHARS} characters")
    return name


class SignalDefinition(BaseModel):
    """One condition; see the module docstring. Construct with `parse_definition` (or
    `SignalDefinition.model_validate`), which also accepts the older nested form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    indicator: Indicator
    period: int | None = None
    operator: Operator
    threshold: Decimal | None = None
    reference: str | None = None
    timeframe: Interval = Interval.H1
    enabled: StrictBool = True  # JSON true/false only: "yes" is no answer

    @model_validator(mode="before")
    @classmethod
    def _accept_forms(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = _normalise_form(dict(data))
        threshold = data.get("threshold")
        if _is_xavg(threshold):  # the docs' {"threshold": "2x_avg"}
            if data.get("reference") is not None:
                raise ValueError("give either threshold or reference, not both")
            data["reference"] = data.pop("threshold")
        return data

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return _clean_name(v)

    @field_validator("indicator", mode="before")
    @classmethod
    def _indicator(cls, v: Any) -> Any:
        key = v.strip().lower() if isinstance(v, str) else v
        if key not in {i.value for i in Indicator}:
            raise ValueError(
                f"unknown indicator {v!r}; expected one of: {', '.join(i.value for i in Indicator)}"
            )
        return key

    @field_validator("operator", mode="before")
    @classmethod
    def _operator(cls, v: Any) -> Any:
        key = v.strip().lower() if isinstance(v, str) else v
        if key not in {o.value for o in Operator}:
            raise ValueError(
                f"unknown operator {v!r}; expected one of: {', '.join(o.value for o in Operator)}"
            )
        return key

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"period must be an integer, got {v!r}")
        if not MIN_PERIOD <= v <= MAX_PERIOD:
            raise ValueError(f"period must be between {MIN_PERIOD} and {MAX_PERIOD}, got {v}")
        return v

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float | str | Decimal):
            raise ValueError(f"threshold must be a number, got {v!r}")
        try:
            d = Decimal(v.strip()) if isinstance(v, str) else Decimal(str(v))
        except InvalidOperation:
            raise ValueError(
                f"threshold must be a number (or 'Nx_avg' for volume), got {v!r}"
            ) from None
        if not d.is_finite():
            raise ValueError("threshold must be a finite number")
        return d

    @field_validator("reference", mode="before")
    @classmethod
    def _reference(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, str):
            raise ValueError(f"reference must be a string; {_REFERENCE_HELP}")
        parse_reference(v)
        return v.strip().lower()

    @field_validator("timeframe", mode="before")
    @classmethod
    def _timeframe(cls, v: Any) -> Any:
        try:
            return parse_interval(v)
        except ValueError as exc:
            raise ValueError(f"timeframe: {exc}") from None

    @model_validator(mode="after")
    def _consistent(self) -> SignalDefinition:
        if self.threshold is not None and self.reference is not None:
            raise ValueError("give either threshold or reference, not both")
        if self.threshold is None and self.reference is None:
            raise ValueError(
                "a signal needs either a threshold (a number) or a reference (ema_<n>, sma_<n>, "
                "bb_upper, bb_middle, bb_lower, price, signal_line, <k>x_avg)"
            )
        ind = self.indicator
        if self.reference is not None:
            spec = parse_reference(self.reference)
            if spec.kind == "volume_avg":
                if ind is not Indicator.VOLUME:
                    raise ValueError(
                        f"reference {self.reference} (a multiple of average volume) is only "
                        f"allowed with indicator volume, not {ind.value}"
                    )
            elif spec.kind == "signal_line":
                if ind is not Indicator.MACD:
                    raise ValueError(
                        "reference signal_line is only allowed with indicator macd, "
                        f"not {ind.value}"
                    )
            elif ind not in PRICE_SCALE:
                raise ValueError(
                    f"reference {self.reference} is a price-level series; it can only be compared "
                    f"with price, ema, sma or bb_* indicators, not {ind.value}"
                )
        period = self.period
        uses_period = ind in DEFAULT_PERIODS or (
            ind is Indicator.PRICE
            and self.reference is not None
            and parse_reference(self.reference).kind in BB_INDICATORS
            and parse_reference(self.reference).period is None
        )
        if uses_period:
            if period is None:
                period = DEFAULT_PERIODS.get(ind, BB_DEFAULT_PERIOD)
            if ind is Indicator.PRICE:
                check_period(Indicator.BB_UPPER, period)
            else:
                check_period(ind, period)
            self.__dict__["period"] = period
        if self.reference is not None:
            ref = self.reference_spec()
            if (
                ref is not None
                and ref.kind == ind.value
                and (ref.kind == "price" or ref.period == period)
            ):
                raise ValueError(f"{ind.value} is compared with itself")
        return self

    @property
    def signal_type(self) -> str:
        """The docs' definition `type`: "crossover" for crosses_*, else "threshold"."""
        return "crossover" if self.operator.is_crossing else "threshold"

    def reference_spec(self) -> ReferenceSpec | None:
        """The parsed reference with its period resolved, or None for a threshold."""
        if self.reference is None:
            return None
        spec = parse_reference(self.reference)
        if spec.kind in BB_INDICATORS and spec.period is None:
            own = self.indicator in BB_INDICATORS or self.indicator is Indicator.PRICE
            period = self.period if own and self.period is not None else BB_DEFAULT_PERIOD
            return ReferenceSpec(spec.kind, period)
        if spec.kind == "volume_avg":
            return ReferenceSpec(spec.kind, self.period, spec.multiplier)
        if spec.kind == "signal_line":
            return ReferenceSpec(spec.kind, self.period)
        return spec

    def to_nested(self) -> dict[str, Any]:
        """The older nested form {"name", "type", "config", "enabled"} (JSON-ready)."""
        config: dict[str, Any] = {
            "indicator": self.indicator.value,
            "operator": self.operator.value,
            "timeframe": self.timeframe.value,
        }
        if self.period is not None:
            config["period"] = self.period
        if self.threshold is not None:
            config["threshold"] = str(self.threshold)
        if self.reference is not None:
            config["reference"] = self.reference
        return {
            "name": self.name,
            "type": self.signal_type,
            "config": config,
            "enabled": self.enabled,
        }


def parse_definition(body: Mapping[str, Any]) -> SignalDefinition:
    """A SignalDefinition from the flat form or the older nested
    {"name", "type": "threshold"|"crossover", "config": {"indicator", "threshold"|"reference",
    "direction": "above"|"below", "period", ...}} form. Raises pydantic.ValidationError (a
    ValueError) with a clear message; type "pattern" is rejected as not supported."""
    if not isinstance(body, Mapping):
        raise ValueError("a signal definition must be an object")
    return SignalDefinition.model_validate(dict(body))


class SignalPool(BaseModel):
    """Signals combined with and/or over a set of symbols. Evaluated per symbol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    symbols: list[str]
    signal_ids: list[SignalId] = Field(default_factory=list)
    logic: PoolLogic = PoolLogic.AND
    cooldown_seconds: int = 0
    enabled: bool = True

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return _clean_name(v)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, v: Any) -> Any:
        if isinstance(v, str) or not isinstance(v, Sequence):
            raise ValueError('symbols must be a list of symbols such as ["BTC", "ETH"]')
        out: list[str] = []
        for s in v:
            if not isinstance(s, str) or not s.strip():
                raise ValueError(f"each symbol must be a non-empty string, got {s!r}")
            sym = s.strip().upper()
            if len(sym) > MAX_SYMBOL_CHARS or any(c.isspace() for c in sym):
                raise ValueError(f"invalid symbol {s!r}")
            if sym in out:
                raise ValueError(f"duplicate symbol {sym}")
            out.append(sym)
        if not out:
            raise ValueError("a pool needs at least one symbol")
        return out

    @field_validator("signal_ids", mode="before")
    @classmethod
    def _signal_ids(cls, v: Any) -> Any:
        if isinstance(v, str) or not isinstance(v, Sequence):
            raise ValueError("signal_ids must be a list of signal definition ids")
        for sid in v:
            if isinstance(sid, bool) or not isinstance(sid, int | str) or sid == "":
                raise ValueError(f"invalid signal id {sid!r}")
        if len(set(v)) != len(v):
            raise ValueError("signal_ids contains duplicates")
        return list(v)

    @field_validator("logic", mode="before")
    @classmethod
    def _logic(cls, v: Any) -> Any:
        key = v.strip().lower() if isinstance(v, str) else v
        if key not in ("and", "or"):
            raise ValueError(f"logic must be 'and' or 'or', got {v!r}")
        return key

    @field_validator("cooldown_seconds", mode="before")
    @classmethod
    def _cooldown(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"cooldown_seconds must be an integer, got {v!r}")
        if not 0 <= v <= MAX_COOLDOWN_SECONDS:
            raise ValueError(
                f"cooldown_seconds must be between 0 and {MAX_COOLDOWN_SECONDS}, got {v}"
            )
        return v


class SignalResult(BaseModel):
    """One definition evaluated on the last closed candle. value / reference_value are the left
    and right sides there (None when undefined); candle_time_ms is that candle's open time (None
    when there are no closed candles)."""

    model_config = ConfigDict(frozen=True)

    matched: bool
    value: float | None = None
    reference_value: float | None = None
    candle_time_ms: int | None = None


class SignalMatch(BaseModel):
    """A definition's result within a pool evaluation, with what it compared (trigger context)."""

    model_config = ConfigDict(frozen=True)

    signal_id: SignalId
    name: str
    indicator: Indicator
    operator: Operator
    threshold: Decimal | None = None
    reference: str | None = None
    timeframe: Interval
    matched: bool
    value: float | None = None
    reference_value: float | None = None
    candle_time_ms: int | None = None


class PoolResult(BaseModel):
    """A pool on one symbol. matches: the enabled signals that matched; evaluated: every enabled
    signal. candle_time_ms: the latest open time among the evaluated candles (None if none)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    condition: bool
    candle_time_ms: int | None = None
    matches: list[SignalMatch] = Field(default_factory=list)
    evaluated: list[SignalMatch] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


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

    from domain import indicator_series as ind

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


# ---------------------------------------------------------------------------------------------
# Edge triggering + cooldown
# ---------------------------------------------------------------------------------------------


class EdgeState(BaseModel):
    """Per pool + symbol firing state; JSON-serialisable (model_dump / model_validate)."""

    model_config = ConfigDict(frozen=True)

    last_condition: bool = False
    last_fired_candle_ms: int | None = None
    last_fired_at_ms: int | None = None


def step(
    state: EdgeState,
    condition: bool,
    candle_time_ms: int | None,
    now_ms: int,
    cooldown_s: int,
) -> tuple[EdgeState, bool]:
    """Advance the state with the latest pool condition; (new_state, fire).

    Fires only on a false -> true transition, and then not if a fire happened less than
    cooldown_s seconds before now_ms, nor if one already happened for this candle time (or a
    later one). A transition suppressed by those rules is consumed: the condition must go false
    and true again to fire later."""
    if cooldown_s < 0:
        raise ValueError("cooldown_s must be >= 0")
    fire = condition and not state.last_condition
    if fire and candle_time_ms is None:
        raise ValueError("a true condition needs its candle_time_ms")
    if (
        fire
        and state.last_fired_candle_ms is not None
        and candle_time_ms is not None
        and candle_time_ms <= state.last_fired_candle_ms
    ):
        fire = False
    if (
        fire
        and state.last_fired_at_ms is not None
        and now_ms - state.last_fired_at_ms < cooldown_s * 1000
    ):
        fire = False
    if fire:
        return (
            EdgeState(
                last_condition=True, last_fired_candle_ms=candle_time_ms, last_fired_at_ms=now_ms
            ),
            True,
        )
    return state.model_copy(update={"last_condition": condition}), False


def fire_id(pool_id: SignalId, symbol: str, candle_time_ms: int) -> str:
    """Deterministic id of a pool firing (use as the trigger / idempotency key)."""
    return f"signal-pool-{pool_id}:{symbol.strip().upper()}@{candle_time_ms}"


class PoolFire(BaseModel):
    """A pool fired for a symbol: the trigger context."""

    model_config = ConfigDict(frozen=True)

    fire_id: str
    pool_id: SignalId
    pool_name: str
    symbol: str
    logic: PoolLogic
    candle_time_ms: int
    fired_at_ms: int
    matches: list[SignalMatch]


def step_pool(
    pool_id: SignalId,
    pool: SignalPool,
    states: Mapping[str, EdgeState],
    results: Mapping[str, PoolResult],
    now_ms: int,
) -> tuple[dict[str, EdgeState], list[PoolFire]]:
    """`step` for every pool symbol: (new states keyed by symbol, fires in symbol order).

    Symbols no longer in the pool lose their state; a symbol without a result counts as false."""
    new_states: dict[str, EdgeState] = {}
    fires: list[PoolFire] = []
    for symbol in pool.symbols:
        res = results.get(symbol)
        condition = bool(res and res.condition)
        t = res.candle_time_ms if res else None
        new, fire = step(
            states.get(symbol, EdgeState()), condition, t, now_ms, pool.cooldown_seconds
        )
        new_states[symbol] = new
        if fire and res is not None and t is not None:
            fires.append(
                PoolFire(
                    fire_id=fire_id(pool_id, symbol, t),
                    pool_id=pool_id,
                    pool_name=pool.name,
                    symbol=symbol,
                    logic=pool.logic,
                    candle_time_ms=t,
                    fired_at_ms=now_ms,
                    matches=res.matches,
                )
            )
    return new_states, fires
