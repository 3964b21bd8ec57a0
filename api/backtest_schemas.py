"""Program backtest bodies and answers (README "Backtests"; spec backtesting.md 8.2).

The product's field names: a body {program_id, account_id?, config: {symbols, start_date,
end_date, interval, initial_balance, slippage_pct, maker_fee_pct, taker_fee_pct, ...}}, an
answer {backtest, metrics, trades}. Percentages are percent (0.045 = 4.5 basis points). Every
rule broken is a 422 naming its field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.money import fmt
from api.queries import MAX_ID
from db.backtest_models import BacktestRecord
from domain.market import parse_interval

SYMBOL_PATTERN = r"^[A-Z0-9]{1,20}$"
MAX_SYMBOLS = 10
# A percentage with at most 6 decimals, 0 to 100.
Pct = Annotated[Decimal, Field(ge=0, le=100, max_digits=12, decimal_places=6)]
Balance = Annotated[Decimal, Field(gt=0, le=Decimal("1e12"), max_digits=30, decimal_places=10)]


class BacktestConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Default (with account_id): the trader's symbols.
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] | None = Field(
        default=None, min_length=1, max_length=MAX_SYMBOLS
    )
    start_date: datetime
    end_date: datetime
    interval: str = "1h"
    initial_balance: Balance = Decimal(10000)
    # Default: the paper exchange's (HYPERORU_PAPER_*_BPS / 100).
    slippage_pct: Pct | None = None
    maker_fee_pct: Pct | None = None
    taker_fee_pct: Pct | None = None
    funding: bool = True
    intrabar: Literal["auto", "bar", "1m"] = "auto"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    allow_gaps: bool = False

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str) -> str:
        return parse_interval(v).value  # ValueError names the allowed ones

    @field_validator("start_date", "end_date")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        try:
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        except OverflowError as err:  # e.g. year 1 at UTC+14
            raise ValueError("outside the dates a backtest can cover") from err

    @field_validator("symbols")
    @classmethod
    def _unique(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a symbol is listed twice")
        return v

    @model_validator(mode="after")
    def _range(self) -> BacktestConfigIn:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program_id: int = Field(gt=0, le=MAX_ID)
    account_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    config: BacktestConfigIn


def _iso(v: datetime | None) -> str | None:
    if v is None:
        return None
    return (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)).isoformat()


def backtest_out(row: BacktestRecord) -> dict[str, Any]:
    """The product's `backtest` object, plus progress, result_hash, error and what was run."""
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "account_id": row.account_id,
        "program_id": row.program_id,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "total_pnl": fmt(row.total_pnl),
        "total_trades": row.total_trades,
        "win_rate": row.win_rate,
        "progress": fmt(row.progress) or "0",
        "steps_done": row.steps_done,
        "total_steps": row.total_steps,
        "result_hash": row.result_hash,
        "error": row.error,
        "config": (row.config or {}).get("request"),
    }


def result_out(row: BacktestRecord, trades: list[dict[str, Any]]) -> dict[str, Any]:
    """{backtest, metrics, trades}: metrics and trades empty until the run has results."""
    metrics = dict(row.metrics or {})
    metrics.pop("breakdowns", None)  # GET .../breakdown serves them
    return {"backtest": backtest_out(row), "metrics": metrics, "trades": trades}
