"""Binance USD-M futures through python-binance's synchronous ``Client``, each call in a thread
under our timeout, failures classified.

``Client(..., ping=False)``: no I/O at construction. ``base_url`` replaces both ``FUTURES_URL``
(``<base>/fapi``) and ``MARGIN_API_URL`` (``<base>/sapi``, for the API-key permission check);
the requests timeout is the instance's ``REQUEST_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from binance.client import Client

from adapters.exchanges.binance.errors import VENUE, classify
from adapters.exchanges.transport import run_blocking

T = TypeVar("T")


class BinanceTransport:
    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        testnet: bool,
        base_url: str | None,
        timeout_s: float,
        recv_window_ms: int,
    ) -> None:
        client = Client(
            api_key,
            api_secret,
            ping=False,  # ping=True would call the spot API at construction
            testnet=testnet,
        )
        client.REQUEST_TIMEOUT = timeout_s
        client.REQUEST_RECVWINDOW = recv_window_ms
        if base_url is not None:
            client.FUTURES_URL = f"{base_url}/fapi"
            client.MARGIN_API_URL = f"{base_url}/sapi"
        self.__client = client  # holds the key and secret; never printed (no custom repr)
        self.timeout_s = timeout_s

    async def close(self) -> None:
        self.__client.session.close()

    async def call(self, what: str, fn: Callable[[Client], T], *, mutating: bool = False) -> T:
        """One SDK call; its raw answer for a ``schemas`` model to parse."""
        client = self.__client
        return await run_blocking(
            lambda: fn(client),
            timeout_s=self.timeout_s + 1,
            venue=VENUE,
            what=what,
            mutating=mutating,
            classify=classify,
        )
