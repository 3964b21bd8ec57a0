"""Bounds of a free-form JSON context (a trigger's, a dry run's, a preview's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# A free-form JSON context (a trigger's, a dry run's, a preview's) is encoded again by every
# later step: the workflow's payload, the stored decision, the sandbox's input, the prompt. Its
# shape is bounded here so that no encoder's own recursion or size limit is what refuses it.
MAX_CONTEXT_DEPTH = 32  # objects and arrays nested in one another, the context itself included
MAX_CONTEXT_VALUES = 10_000  # values in all, at every level (its bytes: HYPERORU_MAX_BODY_BYTES)


def bounded_context(value: dict[str, Any]) -> dict[str, Any]:
    """The context's nesting and value count within the limits (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_CONTEXT_DEPTH:
            raise PydanticCustomError(
                "context_too_deep",
                "nested deeper than the limit of {limit} levels",
                {"limit": MAX_CONTEXT_DEPTH},
            )
        for child in children:
            count += 1
            if count > MAX_CONTEXT_VALUES:
                raise PydanticCustomError(
                    "context_too_large",
                    "holds more than the limit of {limit} values",
                    {"limit": MAX_CONTEXT_VALUES},
                )
            if isinstance(child, dict | list):
                pending.append((child, depth + 1))
            elif isinstance(child, Decimal):  # more digits than a float holds (exact_json.py)
                raise PydanticCustomError(
                    "context_number_inexact",
                    "holds the number {number}, which a 64-bit float cannot hold exactly: send "
                    "it as a string",
                    {"number": str(child)[:40]},
                )
    return value


Context = Annotated[dict[str, Any], AfterValidator(bounded_context)]
