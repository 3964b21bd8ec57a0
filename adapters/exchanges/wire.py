"""Typed parsing of venue replies, shared by every venue's ``schemas`` module.

Every reply an adapter reads goes through a pydantic model (``parse`` / ``parse_list``). A reply
that does not match its model is a classified error, never an AttributeError or KeyError deep in
an adapter: on a read, a retryable ``BAD_RESPONSE``; on a mutating call, ``OutcomeUnknown``
(the venue answered, but what it did cannot be read: settle it by lookup, never by resending).
The error names where the reply went wrong, never what it held.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from adapters.exchanges.client import ErrorCode, ExchangeError, Fill, OutcomeUnknown

M = TypeVar("M", bound=BaseModel)


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


# A venue number: a JSON number or a decimal string, finite. A float becomes the Decimal of its
# shortest repr (0.1 -> Decimal("0.1")), never its binary expansion.
Num = Annotated[Decimal, Field(allow_inf_nan=False)]
# A number the venue may leave out: absent, null or "" is None.
OptNum = Annotated[Num | None, BeforeValidator(_blank_is_none)]


class WireModel(BaseModel):
    """A venue reply: camelCase on the wire, snake_case here; fields we do not read are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True
    )


def _problem(err: ValidationError) -> str:
    first = err.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "the answer"
    return f"unexpected answer at {where}: {first['msg']}"


def bad_reply(venue: str, what: str, problem: str, *, mutating: bool) -> ExchangeError:
    if mutating:
        return OutcomeUnknown(f"{what}: {problem}", venue=venue)
    return ExchangeError(ErrorCode.BAD_RESPONSE, f"{what}: {problem}", retryable=True, venue=venue)


def parse(model: type[M], raw: Any, *, venue: str, what: str, mutating: bool = False) -> M:
    """``raw`` as ``model``, or the classified error (see the module docstring)."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise bad_reply(venue, what, _problem(err), mutating=mutating) from None


@cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def parse_list(model: type[M], raw: Any, *, venue: str, what: str) -> list[M]:
    """A JSON array of ``model``, or a retryable ``BAD_RESPONSE``."""
    try:
        return _list_of(model).validate_python(raw)
    except ValidationError as err:
        raise bad_reply(venue, what, _problem(err), mutating=False) from None


# ---------------------------------------------------------------- small value helpers


def plain(d: Decimal) -> Decimal:
    """Drop exponent notation from computed values (6.5E+4 -> 65000) without losing digits."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def safe_text(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:limit]


def dedupe_fills(fills: Iterable[Fill]) -> list[Fill]:
    """One fill per venue trade id (first seen wins), oldest first."""
    seen: dict[str, Fill] = {}
    for f in fills:
        seen.setdefault(f.trade_id, f)
    return sorted(seen.values(), key=lambda f: (f.time_ms, f.trade_id))
