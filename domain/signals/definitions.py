"""A signal definition: one condition on one indicator, validated once, with its periods
resolved (see domain.signals.vocabulary for what each field may hold)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain import indicator_periods as periods
from domain.market import Interval, parse_interval
from domain.signals.forms import normalise_form
from domain.signals.vocabulary import (
    BB_DEFAULT_PERIOD,
    BB_INDICATORS,
    DEFAULT_PERIODS,
    PRICE_SCALE,
    REFERENCE_HELP,
    Indicator,
    Operator,
    ReferenceSpec,
    candles_for,
    check_period,
    clean_name,
    is_xavg,
    parse_reference,
)


class SignalDefinition(BaseModel):
    """One condition; see domain.signals.vocabulary for the words. Construct with
    `parse_definition` (or `SignalDefinition.model_validate`), which also accepts the older
    nested form (domain.signals.forms)."""

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
        data = normalise_form(dict(data))
        threshold = data.get("threshold")
        if is_xavg(threshold):  # the docs' {"threshold": "2x_avg"}
            if data.get("reference") is not None:
                raise ValueError("give either threshold or reference, not both")
            data["reference"] = data.pop("threshold")
        return data

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return clean_name(v)

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
    def _period(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return v
        # The bounds every indicator shares, named after this definition's indicator when it
        # is valid (it is declared, so validated, before period).
        indicator = info.data.get("indicator")
        if isinstance(indicator, Indicator):
            return check_period(indicator, v)
        return periods.check_period(None, v)

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
            raise ValueError(f"reference must be a string; {REFERENCE_HELP}")
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

    def candles_needed(self) -> int:
        """The fewest closed candles on which this definition can match: both sides defined on
        the last candle and on the one before it (a crossing compares the two)."""
        needed = candles_for(self.indicator, self.period)
        spec = self.reference_spec()
        if spec is not None:
            needed = max(needed, candles_for(spec.kind, spec.period))
        return needed + 1

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
