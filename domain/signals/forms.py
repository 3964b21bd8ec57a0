"""The other accepted shapes of a signal definition, rewritten to the flat one.

- The older nested form {"name", "type": "threshold"|"crossover", "config": {"indicator",
  "threshold"|"reference", "direction": "above"|"below", "period", "timeframe", ...}, "enabled"}.
- Flat bodies with "type" and/or "direction" instead of an operator.
Type "pattern" is refused as not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.signals.vocabulary import Operator

_NESTED_TOP_KEYS = frozenset({"name", "type", "config", "enabled"})
_NESTED_CONFIG_KEYS = frozenset(
    {"indicator", "operator", "direction", "threshold", "reference", "period", "timeframe"}
)
_SIGNAL_TYPES = ("threshold", "crossover")


def normalise_form(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a copy of the body) in the flat form with an operator; ValueError when the
    nested form or its type/direction are malformed or contradict the operator."""
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
