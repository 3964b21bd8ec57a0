"""Candle files a user brings: parsed and checked row by row, before anything is stored.

Formats (the upload names none; each is recognised by its shape):

* hyperoru JSON: ``{"symbol", "interval", "candles": [{"timestamp", "open", "high", "low",
  "close", "volume"}]}``, or the bare list ``GET /api/klines/data`` answers (symbol and
  interval then come from the query), so an export imports back unchanged;
* Hyperliquid ``candleSnapshot`` JSON: rows ``{"t", "T", "s", "i", "o", "h", "l", "c", "v"}``,
  bare or under ``candles`` (symbol and interval may come from the rows' ``s`` and ``i``);
* CSV with a header of ``timestamp,open,high,low,close,volume`` (any order, extra columns
  ignored);
* Binance kline CSV: a header starting ``open_time,open,high,low,close,volume,close_time``, or
  the headerless 12-column dumps of data.binance.vision (open times in microseconds, as its spot
  dumps have since 2025, are read as such).

Every row is checked (rows count from 1, a CSV header not counted); one bad row refuses the
whole upload, and every bad row is named with its field and the rule it breaks.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.market import Candle, Interval, parse_interval
from domain.vocabulary import Exchange

# Stored as Numeric(30, 10): more digits would be rounded, and a re-import would then differ.
MAX_DECIMALS = 10
MAX_INTEGER_DIGITS = 20
# A row's fields: a Candle's, its open time named `timestamp` (as GET /api/klines/data names it).
PRICE_FIELDS = tuple(f.name for f in fields(Candle))[1:5]  # open, high, low, close
FIELDS = ("timestamp", *PRICE_FIELDS, "volume")
HL_KEYS = dict(zip("tohlcv", FIELDS, strict=True))  # candleSnapshot's one-letter keys
BINANCE_COLUMNS = ("open_time", *PRICE_FIELDS, "volume", "close_time")
HYPERLIQUID_FORMAT = Exchange.HYPERLIQUID.value
BINANCE_FORMAT = Exchange.BINANCE.value
MICROSECONDS_FROM = 10**15  # an open time this large is in microseconds (year 33658 in ms)
LATEST_MS = 32_503_680_000_000  # 3000-01-01: a later open time is a unit or typing error


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    rule: str
    message: str


class UploadError(ValueError):
    """The upload as a whole is unusable (not JSON/CSV, no symbol, unknown columns...)."""


@dataclass
class ParsedUpload:
    symbol: str
    interval: Interval
    fmt: str
    candles: list[Candle] = field(default_factory=list)
    rows: dict[int, int] = field(default_factory=dict)  # open time -> first row holding it
    errors: list[RowError] = field(default_factory=list)
    received: int = 0


def _decimal(raw: Any, name: str, row: int, errors: list[RowError]) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        errors.append(RowError(row, name, "number", f"{name} must be a number"))
        return None
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        errors.append(RowError(row, name, "number", f"{name} is not a number: {str(raw)[:40]!r}"))
        return None
    if not value.is_finite():
        errors.append(RowError(row, name, "finite", f"{name} must be a finite number"))
        return None
    exp = value.normalize().as_tuple().exponent
    if isinstance(exp, int) and exp < -MAX_DECIMALS:
        errors.append(
            RowError(row, name, "decimals", f"{name} has more than {MAX_DECIMALS} decimals")
        )
        return None
    if abs(value) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        errors.append(RowError(row, name, "range", f"{name} is too large"))
        return None
    return value


def _timestamp(raw: Any, row: int, errors: list[RowError], micros_ok: bool) -> int | None:
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    elif isinstance(raw, (float, Decimal)) and raw == int(raw):
        value = int(raw)
    if value is None or value < 0:
        errors.append(
            RowError(row, "timestamp", "integer_ms", "timestamp must be a whole number of ms")
        )
        return None
    if micros_ok and value >= MICROSECONDS_FROM:
        value //= 1000
    if value >= LATEST_MS:
        errors.append(RowError(row, "timestamp", "range", "timestamp is after the year 3000"))
        return None
    return value


def check_row(
    row: int, raw: dict[str, Any], interval: Interval, micros_ok: bool = False
) -> tuple[Candle | None, list[RowError]]:
    """One candle from one row's fields (named as in FIELDS), or the rules it breaks."""
    errors: list[RowError] = []
    for name in FIELDS:
        if raw.get(name) is None or raw.get(name) == "":
            errors.append(RowError(row, name, "required", f"{name} is missing"))
    if errors:
        return None, errors
    ts = _timestamp(raw["timestamp"], row, errors, micros_ok)
    vals = {name: _decimal(raw[name], name, row, errors) for name in FIELDS[1:]}
    if errors or ts is None:
        return None, errors
    o, h, lo, c, v = (vals[n] for n in FIELDS[1:])
    assert o is not None and h is not None and lo is not None and c is not None
    assert v is not None
    if ts % interval.ms:
        errors.append(
            RowError(
                row,
                "timestamp",
                "aligned",
                f"timestamp {ts} is not the open of a {interval.value} candle",
            )
        )
    for name in PRICE_FIELDS:
        if (vals[name] or 0) <= 0:
            errors.append(RowError(row, name, "positive", f"{name} must be above 0"))
    if lo > min(o, c) or lo > h:
        errors.append(RowError(row, "low", "low<=open,close,high", "low must be <= open, close"))
    if h < max(o, c):
        errors.append(RowError(row, "high", "high>=open,close", "high must be >= open and close"))
    if v < 0:
        errors.append(RowError(row, "volume", "non_negative", "volume must be >= 0"))
    if errors:
        return None, errors
    return Candle(ts, o, h, lo, c, v), []


def _json_rows(doc: Any) -> tuple[list[Any], str | None, str | None]:
    if isinstance(doc, list):
        return doc, None, None
    if isinstance(doc, dict) and isinstance(doc.get("candles"), list):
        sym, iv = doc.get("symbol"), doc.get("interval")
        return (
            doc["candles"],
            sym if isinstance(sym, str) else None,
            iv if isinstance(iv, str) else None,
        )
    raise UploadError("JSON must be {symbol, interval, candles: [...]} or a list of candles")


def _from_json(body: bytes) -> tuple[list[dict[str, Any]], str, str | None, str | None, bool]:
    try:
        doc = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise UploadError(f"Body is not valid JSON: {str(err)[:200]}") from None
    rows, sym, iv = _json_rows(doc)
    first = rows[0] if rows else {}
    if isinstance(first, dict) and "t" in first and "timestamp" not in first:
        out = [
            {HL_KEYS[k]: v for k, v in r.items() if k in HL_KEYS} if isinstance(r, dict) else r
            for r in rows
        ]
        sym = sym or (first.get("s") if isinstance(first.get("s"), str) else None)
        iv = iv or (first.get("i") if isinstance(first.get("i"), str) else None)
        return out, HYPERLIQUID_FORMAT, sym, iv, False
    return rows, "hyperoru", sym, iv, False


def _from_csv(body: bytes) -> tuple[list[dict[str, Any]], str]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("CSV must be UTF-8 text") from None
    lines = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not lines:
        return [], "csv"
    head = [h.strip().lower() for h in lines[0]]
    if head[: len(BINANCE_COLUMNS)] == list(BINANCE_COLUMNS):
        names, data, fmt = ["timestamp", *head[1:]], lines[1:], BINANCE_FORMAT
    elif head and head[0].isdigit() and len(head) == 12:  # data.binance.vision, no header
        names, data, fmt = ["timestamp", *BINANCE_COLUMNS[1:]], lines, BINANCE_FORMAT
    elif set(FIELDS) <= set(head):
        names, data, fmt = head, lines[1:], "csv"
    else:
        raise UploadError(
            "CSV header must name timestamp,open,high,low,close,volume "
            "(or Binance's open_time,open,high,low,close,volume,close_time,...)"
        )
    return [dict(zip(names, r, strict=False)) for r in data], fmt


def parse_upload(
    body: bytes, is_csv: bool, symbol: str | None, interval: str | None, max_rows: int
) -> ParsedUpload:
    """The upload's candles (sorted by open time, duplicates collapsed) and its bad rows.

    Raises UploadError when the upload cannot be read at all, or holds more than max_rows."""
    if is_csv:
        rows, fmt = _from_csv(body)
        sym, iv = symbol, interval
    else:
        rows, fmt, file_sym, file_iv, _ = _from_json(body)
        sym, iv = symbol or file_sym, interval or file_iv
    if not sym or not sym.strip():
        raise UploadError("symbol is required (a query parameter, or the file's own)")
    if not iv:
        raise UploadError("interval is required (a query parameter, or the file's own)")
    try:
        parsed_iv = parse_interval(iv)
    except ValueError as err:
        raise UploadError(str(err)) from None
    if len(rows) > max_rows:
        raise TooManyRows(len(rows), max_rows)
    out = ParsedUpload(sym.strip().upper(), parsed_iv, fmt, received=len(rows))
    by_time: dict[int, Candle] = {}
    for n, raw in enumerate(rows, start=1):
        if not isinstance(raw, dict):
            out.errors.append(RowError(n, "row", "object", "a candle must be an object"))
            continue
        candle, errors = check_row(n, raw, parsed_iv, micros_ok=fmt == BINANCE_FORMAT)
        out.errors.extend(errors)
        if candle is None:
            continue
        seen = by_time.get(candle.open_time_ms)
        if seen is None:
            by_time[candle.open_time_ms] = candle
            out.rows[candle.open_time_ms] = n
        elif seen != candle:
            first = out.rows[candle.open_time_ms]
            out.errors.append(
                RowError(
                    n,
                    "timestamp",
                    "unique",
                    f"timestamp {candle.open_time_ms} is also row {first}, with other values",
                )
            )
    out.candles = [by_time[t] for t in sorted(by_time)]
    return out


class TooManyRows(UploadError):
    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(f"The upload has {rows} rows; at most {limit} are taken at once")
        self.rows, self.limit = rows, limit
