"""The structured trading decision every strategy (program or prompt) produces."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_REASONING_CHARS = 4000


class Operation(StrEnum):
    LONG = "long"
    SHORT = "short"
    CLOSE = "close"
    HOLD = "hold"


class Decision(BaseModel):
    """A strategy's answer. Money is Decimal; percentages are plain Decimal percents (5 = 5 %)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operation: Operation
    symbol: str | None = Field(default=None, max_length=32)
    size_usd: Decimal | None = Field(default=None, gt=0, max_digits=30, decimal_places=10)
    leverage: Decimal | None = Field(default=None, gt=0, le=1000)
    take_profit_pct: Decimal | None = Field(default=None, gt=0, le=10000)
    stop_loss_pct: Decimal | None = Field(default=None, gt=0, lt=100)
    reasoning: str = Field(default="", max_length=MAX_REASONING_CHARS)

    @field_validator("symbol")
    @classmethod
    def _upper_symbol(cls, v: str | None) -> str | None:
        return v.strip().upper() if isinstance(v, str) and v.strip() else None

    @field_validator("size_usd", "leverage", "take_profit_pct", "stop_loss_pct")
    @classmethod
    def _finite(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not v.is_finite():
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _required_fields(self) -> Decision:
        """long and short need symbol and size_usd; close needs symbol; hold needs nothing."""
        if self.operation in (Operation.LONG, Operation.SHORT):
            missing = [f for f in ("symbol", "size_usd") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{self.operation.value} needs {', '.join(missing)}")
        if self.operation is Operation.CLOSE and self.symbol is None:
            raise ValueError("close needs symbol")
        return self

    @property
    def effective_leverage(self) -> Decimal:
        return self.leverage if self.leverage is not None else Decimal(1)
