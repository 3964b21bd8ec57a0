"""Signal pools and what evaluating them yields: definitions combined with and/or over a set of
symbols (SignalPool), one definition's result (SignalResult), its result within a pool
(SignalMatch), and the pool's condition on one symbol (PoolResult)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.market import Interval
from domain.signals.vocabulary import Indicator, Operator, PoolLogic, SignalId, clean_name

MAX_SYMBOL_CHARS = 32
MAX_COOLDOWN_SECONDS = 30 * 86400


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
        return clean_name(v)

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
