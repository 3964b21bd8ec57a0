"""Request bodies parsed without silent rounding of numbers.

The standard parser turns every JSON number with a fraction into a float, so
`"initial_capital": 1.0000000000000000000001` would arrive as 1.0 and pass every check. Here a
number that a float holds exactly stays a float (the common case, and what free-form contexts
carry), and one it does not stays the exact Decimal it was written as: a money field then refuses
digits its column cannot hold, any other field refuses it (api/schemas.py). This is FastAPI's
documented recipe for a custom Request and APIRoute class.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def exact_number(text: str) -> float | Decimal:
    value = float(text)
    if math.isfinite(value) and Decimal(repr(value)) == Decimal(text):
        return value
    return Decimal(text)


class ExactNumbersRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=exact_number)
        return self._json


class ExactNumbersRoute(APIRoute):
    """Every route of the API: its JSON body is read by ExactNumbersRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactNumbersRequest(request.scope, request.receive))

        return exact
