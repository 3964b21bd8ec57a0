"""A run's config as stored on its backtest row (JSON) and back.

The row keeps `BacktestConfig.as_json()` (the values the result hash covers) under "run", and
what the user asked for, as the API read it, under "request" (for display only). The run is
rebuilt from "run" alone, so a retried or resumed activity runs exactly the stored config."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.market import parse_interval
from domain.paper import PaperConfig
from domain.risk import RiskLimits
from strategies.backtest.contract import BacktestConfig


def to_stored(config: BacktestConfig, request: dict[str, Any]) -> dict[str, Any]:
    return {"run": config.as_json(), "request": request}


def from_stored(stored: dict[str, Any], paper: PaperConfig = PaperConfig()) -> BacktestConfig:
    """The run's BacktestConfig; `paper` gives what the stored config does not hold (the
    liquidation rule's max leverage and maintenance rates). ValueError when malformed."""
    try:
        run = stored["run"]
        return BacktestConfig(
            symbols=tuple(run["symbols"]),
            interval=parse_interval(run["interval"]),
            start_ms=int(run["start_ms"]),
            end_ms=int(run["end_ms"]),
            initial_balance=Decimal(run["initial_balance"]),
            paper=PaperConfig(
                taker_fee_bps=Decimal(run["taker_fee_bps"]),
                maker_fee_bps=Decimal(run["maker_fee_bps"]),
                slippage_bps=Decimal(run["slippage_bps"]),
                max_leverage=paper.max_leverage,
                maintenance_margin_rates=paper.maintenance_margin_rates,
            ),
            funding=bool(run["funding"]),
            intrabar=run["intrabar"],
            seed=int(run["seed"]),
            limits=RiskLimits.model_validate(run["limits"]),
            allow_gaps=bool(run["allow_gaps"]),
        )
    except (KeyError, TypeError, ArithmeticError) as err:
        raise ValueError(f"malformed stored backtest config: {err!r}") from err
