"""The backtest form's fields, read into the body POST /api/programs/backtest takes, and each
error the API answers placed next to the field it names ("config.symbols: ...")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError

CONFIG = (
    "symbols", "start_date", "end_date", "interval", "initial_balance", "taker_fee_pct",
    "maker_fee_pct", "slippage_pct", "funding", "intrabar", "seed", "allow_gaps",
)  # fmt: skip
CHECKBOXES = ("funding", "allow_gaps")
# Where an error without a field goes: the range errors read best beside the dates.
BY_CODE = {"INVALID_RANGE": "end_date", "RANGE_TOO_LARGE": "end_date",
           "DATA_COVERAGE": "symbols", "SYMBOL_NOT_SUPPORTED": "symbols"}  # fmt: skip


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # text | datetime-local | number | select | checkbox
    hint: str = ""
    options: tuple[str, ...] = ()


FIELDS = (
    Field("symbols", "Symbols", "text", "comma separated, e.g. BTC, ETH"),
    Field("start_date", "Start (UTC)", "datetime-local"),
    Field("end_date", "End (UTC)", "datetime-local"),
    Field("interval", "Interval", "select", options=("1m", "5m", "15m", "1h", "4h", "1d")),
    Field("initial_balance", "Balance (USD)", "text"),
    Field("taker_fee_pct", "Taker fee %", "text", "empty: the paper exchange's"),
    Field("maker_fee_pct", "Maker fee %", "text", "empty: the paper exchange's"),
    Field("slippage_pct", "Slippage %", "text", "empty: the paper exchange's"),
    Field("intrabar", "Intrabar", "select", "auto: 1m candles when stored", ("auto", "bar", "1m")),
    Field("seed", "Seed", "text"),
    Field("funding", "Charge funding", "checkbox"),
    Field("allow_gaps", "Skip bars without candles", "checkbox"),
)


def blank_form() -> dict[str, str]:
    return {"interval": "1h", "initial_balance": "10000", "intrabar": "auto", "seed": "0",
            "funding": "on"}  # fmt: skip


def request_body(form: dict[str, str]) -> dict[str, Any]:
    """The API body the form says (validation is BacktestRequest's, as for the API)."""
    config: dict[str, Any] = {}
    for name in CONFIG:
        value = form.get(name, "").strip()
        if name in CHECKBOXES:
            config[name] = value == "on"
        elif name == "symbols":
            if value:
                config[name] = [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()]
        elif value:  # an empty optional field: the API's default
            config[name] = value
    body: dict[str, Any] = {"program_id": form.get("program_id") or None, "config": config}
    if form.get("account_id"):
        body["account_id"] = form["account_id"]
    return body


def field_of(where: Sequence[Any] | ApiError) -> str:
    """The form field an error belongs to ("" for the form as a whole)."""
    if isinstance(where, ApiError):
        head = where.message.split(":", 1)[0]
        name = head.removeprefix("config.")
        if name in CONFIG or name in ("program_id", "account_id"):
            return name
        if where.code == "ACCOUNT_NOT_FOUND":
            return "account_id"
        if where.code == "PROGRAM_NOT_FOUND":
            return "program_id"
        return BY_CODE.get(where.code, "")
    parts = [str(p) for p in where if p not in ("body", "config")]
    known = (*CONFIG, "program_id", "account_id")
    return parts[0] if parts and parts[0] in known else ""
