"""Money as text: a plain decimal string, without storage padding or exponents.

10000.0000000000 -> "10000", 0E-10 -> "0", 1.50 -> "1.5". The REST API (api/money.py) and the
live stream's events (domain/events.py) both write money this way, so the same amount reads the
same in both.
"""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
