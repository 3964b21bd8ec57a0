"""Money in API responses: plain decimal strings, without storage padding or exponents."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

from domain.money import plain


def fmt(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def fmt_str(value: Decimal) -> str:
    return fmt(value) or "0"


# 10000.0000000000 -> "10000", 0E-10 -> "0", 1.50 -> "1.5"
MoneyOut = Annotated[Decimal, PlainSerializer(fmt_str, return_type=str, when_used="json")]
