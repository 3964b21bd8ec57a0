"""Money in API responses: plain decimal strings, without storage padding or exponents."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer


def fmt(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def fmt_str(value: Decimal) -> str:
    return fmt(value) or "0"


# 10000.0000000000 -> "10000", 0E-10 -> "0", 1.50 -> "1.5"
MoneyOut = Annotated[Decimal, PlainSerializer(fmt_str, return_type=str, when_used="json")]
