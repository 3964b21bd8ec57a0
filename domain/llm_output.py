"""The LLM output contract and its parser: model text in, a validated `Decision` or an error out.

LLM output is untrusted input (reliability P9): it is parsed strictly, bounded, and fails closed.
Nothing here salvages fields from non-JSON text; either one JSON decision object is found and
validated, or the result carries an error code:

  LLM_EMPTY           the response is empty or whitespace
  LLM_NOT_JSON        no JSON object in the response, or it is truncated / malformed, or too long
  LLM_SCHEMA          a JSON value was found but it is not a valid decision (wrong types, missing
                      fields, unknown operation such as "buy; ignore previous instructions",
                      several different decision objects, a list of more than one decision, ...)
  LLM_UNKNOWN_SYMBOL  `symbol` is not one of the trader's symbols
  LLM_ABSURD_SIZE     `size_usd` is not finite, or exceeds ABSURD_SIZE_FACTOR x max_size_usd
  LLM_ANSWER_TOO_LARGE the answer passed MAX_ANSWER_CHARS: the LLM client keeps only its first
                      MAX_ANSWER_CHARS characters (so the decision's raw text stays small enough
                      for Temporal's payloads and the database) and says so with `oversize`;
                      such an answer is never parsed, and never retried (it would be paid again)

Where the JSON may be (first rule that applies):
  1. the whole response (surrounding whitespace ignored) is JSON;
  2. otherwise every balanced top-level `{...}` in the text is tried with a brace scanner that
     respects JSON strings -- this covers ```json fences and JSON embedded in prose. Objects that
     do not parse are skipped; objects nested inside another balanced object are not considered.
     Exactly one distinct object with an "operation" (or "decision") key must be found: two
     different ones are ambiguous (LLM_SCHEMA); the same object repeated is fine. If none has that
     key, the first object found is validated (and so reports the schema error). A `{` that is
     never closed is reported as truncated JSON (LLM_NOT_JSON).

Accepted harmless variants (and nothing else):
  - a top-level wrapper {"decision": {...}} (when the outer object has no "operation" key), and a
    JSON list holding exactly one decision -- one level of each, in either order;
  - `operation` in any letter case, with surrounding spaces;
  - `symbol` in any letter case, with surrounding spaces (compared upper-case);
  - numbers written as JSON strings ("500", " 2.5 ", "1e3"); `leverage` may end in "x" ("5x") and
    the two percentages may end in "%" ("4%"); no currency signs, thousands separators or words;
  - null or a missing key for any optional field; a missing `reasoning` is "";
  - for "hold" and "close", `size_usd`, `leverage`, `take_profit_pct`, `stop_loss_pct` equal to 0
    mean "not given" (models often emit zeros for them; a close always closes the whole position);
  - keys other than the seven contract fields are ignored and listed in `ignored_fields`;
  - `reasoning` longer than MAX_REASONING_CHARS is cut to that length.
Everything else (booleans as numbers, objects where a scalar is expected, "buy"/"sell", negative
or zero sizes for long/short, leverage > 1000, stop loss >= 100 %) is LLM_SCHEMA.
`size_usd` between max_size_usd and ABSURD_SIZE_FACTOR x max_size_usd is accepted here; the risk
check (which runs after parsing) clamps or denies it against the trader's limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.decision import MAX_REASONING_CHARS, Decision, Operation

ABSURD_SIZE_FACTOR = Decimal(10)
MAX_RAW_CHARS = 100_000
MAX_ANSWER_CHARS = 65_536  # 64 KiB of text: what the LLM client keeps of an answer
MAX_SCANNED_OBJECTS = 50
MAX_UNCLOSED_RESTARTS = 20

CONTRACT_FIELDS = (
    "operation",
    "symbol",
    "size_usd",
    "leverage",
    "take_profit_pct",
    "stop_loss_pct",
    "reasoning",
)
_NUMBER_FIELDS = ("size_usd", "leverage", "take_profit_pct", "stop_loss_pct")
_SUFFIXES = {"leverage": "xX", "take_profit_pct": "%", "stop_loss_pct": "%", "size_usd": ""}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_MONEY_QUANTUM = Decimal("1e-10")  # Decision.size_usd allows 10 decimal places
_QUANTIZE_BELOW = Decimal("1e15")


class LLMOutputError(StrEnum):
    EMPTY = "LLM_EMPTY"
    NOT_JSON = "LLM_NOT_JSON"
    SCHEMA = "LLM_SCHEMA"
    UNKNOWN_SYMBOL = "LLM_UNKNOWN_SYMBOL"
    ABSURD_SIZE = "LLM_ABSURD_SIZE"
    ANSWER_TOO_LARGE = "LLM_ANSWER_TOO_LARGE"


class ParsedDecision(BaseModel):
    """Result of `parse_decision`: `ok` with a `decision`, or an `error_code` and `error`."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    decision: Decision | None = None
    error_code: LLMOutputError | None = None
    error: str | None = None
    ignored_fields: tuple[str, ...] = ()

    @classmethod
    def fail(cls, code: LLMOutputError, error: str) -> ParsedDecision:
        return cls(ok=False, error_code=code, error=error)


def output_contract(
    allowed_symbols: Sequence[str] | None = None, max_size_usd: Decimal | None = None
) -> str:
    """The instruction the platform appends to every prompt (after the template is rendered)."""
    syms = (
        "one of " + ", ".join(f'"{s.upper()}"' for s in allowed_symbols)
        if allowed_symbols
        else "a symbol from the list above"
    )
    size_cap = f", at most {max_size_usd}" if max_size_usd is not None else ""
    return (
        "Respond with exactly one JSON object and nothing else: no code fences, no text before or "
        "after it.\n"
        "Fields:\n"
        '  "operation": "long" | "short" | "close" | "hold"  (required)\n'
        f'  "symbol": {syms}  (required for long, short and close; null for hold)\n'
        f'  "size_usd": number > 0{size_cap}, position notional in USD  '
        "(required for long and short)\n"
        '  "leverage": number > 0, e.g. 3  (optional, default 1)\n'
        '  "take_profit_pct": number > 0, percent move from entry, 5 means 5 %  (optional)\n'
        '  "stop_loss_pct": number > 0 and < 100, percent move from entry  (optional)\n'
        f'  "reasoning": string, at most {MAX_REASONING_CHARS} characters, why you decided this\n'
        "Example:\n"
        '{"operation": "long", "symbol": "BTC", "size_usd": 500, "leverage": 3, '
        '"take_profit_pct": 4, "stop_loss_pct": 2, "reasoning": "Breakout above resistance."}\n'
        '"close" closes the whole open position in that symbol. Use "hold" when no action is '
        "warranted. The platform's risk limits apply to every decision."
    )


OUTPUT_CONTRACT = output_contract()


def parse_decision(
    raw_text: str | None,
    allowed_symbols: Sequence[str],
    max_size_usd: Decimal | int | float | None,
    oversize: str | None = None,
) -> ParsedDecision:
    """Parse and validate one decision from model output; never raises. `oversize`: why the
    text is only the start of a larger answer (set by the LLM client), which is then refused."""
    if oversize:
        return ParsedDecision.fail(LLMOutputError.ANSWER_TOO_LARGE, oversize)
    if raw_text is None or not raw_text.strip():
        return ParsedDecision.fail(LLMOutputError.EMPTY, "the model returned an empty response")
    if len(raw_text) > MAX_RAW_CHARS:
        return ParsedDecision.fail(
            LLMOutputError.NOT_JSON,
            f"the response is too long ({len(raw_text)} characters; limit {MAX_RAW_CHARS})",
        )
    found = _extract(raw_text)
    if isinstance(found, ParsedDecision):
        return found
    obj = _unwrap(found)
    if isinstance(obj, ParsedDecision):
        return obj
    try:
        limit = Decimal(str(max_size_usd)) if max_size_usd is not None else None
    except InvalidOperation:
        limit = None
    return _validate(obj, allowed_symbols, limit)


# ---------------------------------------------------------------- locating the JSON


def _loads(text: str) -> Any:
    """json.loads keeping numbers exact (Decimal) and NaN/Infinity as non-finite Decimals."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def _match_object(text: str, start: int) -> int:
    """Index of the `}` closing the `{` at `start` (braces in JSON strings ignored), or -1."""
    depth = 0
    in_string = False
    escaped = False
    for j in range(start, len(text)):
        ch = text[j]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _is_decision_like(value: Any) -> bool:
    return isinstance(value, dict) and ("operation" in value or "decision" in value)


def _extract(text: str) -> Any:
    stripped = text.strip()
    try:
        return _loads(stripped)
    except (ValueError, RecursionError):
        pass
    objects: list[Any] = []
    unclosed_at: int | None = None
    restarts = 0
    i = text.find("{")
    while i != -1 and len(objects) < MAX_SCANNED_OBJECTS:
        end = _match_object(text, i)
        if end == -1:
            # never closed: truncated output, or a stray brace in prose before the JSON
            if unclosed_at is None:
                unclosed_at = i
            restarts += 1
            if restarts > MAX_UNCLOSED_RESTARTS:
                break
            i = text.find("{", i + 1)
            continue
        try:
            value = _loads(text[i : end + 1])
        except (ValueError, RecursionError):
            pass
        else:
            if isinstance(value, dict):
                objects.append(value)
        i = text.find("{", end + 1)

    decisions: list[Any] = []
    seen: set[str] = set()
    for value in objects:
        if _is_decision_like(value):
            key = json.dumps(value, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                decisions.append(value)
    if len(decisions) == 1:
        return decisions[0]
    if len(decisions) > 1:
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA,
            f"the response contains {len(decisions)} different decision objects; "
            "expected exactly one",
        )
    if unclosed_at is not None:
        return ParsedDecision.fail(
            LLMOutputError.NOT_JSON,
            f"truncated or malformed JSON: the '{{' at position {unclosed_at} is never closed",
        )
    if objects:
        return objects[0]
    return ParsedDecision.fail(LLMOutputError.NOT_JSON, "no JSON object found in the response")


def _unwrap(value: Any) -> dict[str, Any] | ParsedDecision:
    for _ in range(2):
        if isinstance(value, list):
            if len(value) != 1:
                return ParsedDecision.fail(
                    LLMOutputError.SCHEMA,
                    f"expected one decision, got a list of {len(value)} items",
                )
            value = value[0]
        if isinstance(value, dict) and "operation" not in value and "decision" in value:
            value = value["decision"]
    if not isinstance(value, dict):
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA,
            f'expected a JSON object with an "operation" field, got {_type_name(value)}',
        )
    return value


# ---------------------------------------------------------------- validating the fields


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _SchemaError(Exception):
    pass


def _number(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _SchemaError(f"{name} must be a number, got a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # not produced by _loads, kept for direct callers
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        suffixes = _SUFFIXES[name]
        if text and suffixes and text[-1] in suffixes:
            text = text[:-1].rstrip()
        if _NUMBER.fullmatch(text) or _NON_FINITE.fullmatch(text):
            return Decimal(text)
        raise _SchemaError(f"{name} must be a number, got {_short(value)}")
    raise _SchemaError(f"{name} must be a number, got {_type_name(value)}")


def _validate(
    obj: dict[str, Any], allowed_symbols: Sequence[str], max_size_usd: Decimal | None
) -> ParsedDecision:
    ignored = tuple(sorted(k for k in obj if k not in CONTRACT_FIELDS))

    raw_op = obj.get("operation")
    if raw_op is None:
        return ParsedDecision.fail(LLMOutputError.SCHEMA, 'missing field "operation"')
    if not isinstance(raw_op, str):
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA, f"operation must be a string, got {_type_name(raw_op)}"
        )
    op_text = raw_op.strip().lower()
    valid_ops = [o.value for o in Operation]
    if op_text not in valid_ops:
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA,
            f"operation must be one of {', '.join(valid_ops)}; got {_short(raw_op)}",
        )
    op = Operation(op_text)

    raw_symbol = obj.get("symbol")
    if raw_symbol is not None and not isinstance(raw_symbol, str):
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA, f"symbol must be a string, got {_type_name(raw_symbol)}"
        )
    symbol = raw_symbol.strip().upper() if isinstance(raw_symbol, str) else ""
    if not symbol and op is not Operation.HOLD:
        return ParsedDecision.fail(LLMOutputError.SCHEMA, f"{op.value} needs a symbol")
    allowed = [s.strip().upper() for s in allowed_symbols]
    if symbol and symbol not in allowed:
        return ParsedDecision.fail(
            LLMOutputError.UNKNOWN_SYMBOL,
            f"symbol {_short(symbol, 40)} is not one of this trader's symbols: "
            f"{', '.join(allowed) or '(none)'}",
        )

    numbers: dict[str, Decimal | None] = {}
    try:
        for name in _NUMBER_FIELDS:
            numbers[name] = _number(name, obj.get(name))
    except _SchemaError as exc:
        return ParsedDecision.fail(LLMOutputError.SCHEMA, str(exc))
    if op in (Operation.HOLD, Operation.CLOSE):
        for name, num in numbers.items():
            if num is not None and num.is_finite() and num == 0:
                numbers[name] = None

    size = numbers["size_usd"]
    if size is not None:
        if not size.is_finite():
            return ParsedDecision.fail(
                LLMOutputError.ABSURD_SIZE, "size_usd is not a finite number"
            )
        if max_size_usd is not None and size > max_size_usd * ABSURD_SIZE_FACTOR:
            return ParsedDecision.fail(
                LLMOutputError.ABSURD_SIZE,
                f"size_usd {size:.6g} is more than {ABSURD_SIZE_FACTOR} x the maximum position "
                f"size ({max_size_usd:f} USD)",
            )
        exponent = size.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -10 and abs(size) < _QUANTIZE_BELOW:
            numbers["size_usd"] = size.quantize(_MONEY_QUANTUM)

    reasoning = obj.get("reasoning")
    if reasoning is None:
        reasoning = ""
    if not isinstance(reasoning, str):
        return ParsedDecision.fail(
            LLMOutputError.SCHEMA, f"reasoning must be a string, got {_type_name(reasoning)}"
        )
    reasoning = reasoning.strip()[:MAX_REASONING_CHARS]

    try:
        decision = Decision(
            operation=op,
            symbol=symbol or None,
            size_usd=numbers["size_usd"],
            leverage=numbers["leverage"],
            take_profit_pct=numbers["take_profit_pct"],
            stop_loss_pct=numbers["stop_loss_pct"],
            reasoning=reasoning,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'decision'}: {err['msg']}"
            for err in exc.errors()
        )
        return ParsedDecision.fail(LLMOutputError.SCHEMA, problems)
    return ParsedDecision(ok=True, decision=decision, ignored_fields=ignored)
