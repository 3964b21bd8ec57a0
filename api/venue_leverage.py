"""A live trader's max_leverage against its venue's own maximum per symbol.

Hyperliquid's perp meta gives each asset's `maxLeverage`; Binance gives leverage brackets per
symbol (the highest is the first bracket's). A trader allowed more leverage than the venue gives
for one of its symbols would have every such order refused at the venue, after its decision was
made: so the setting is refused up front (422 naming the symbol and the venue's limit). The
venue is asked with the trader's own keys, so the check runs when they are known: on connecting
the exchange, and on every later change of max_leverage or the symbols. A venue that cannot be
reached is a 503, never a silent accept. Paper traders have no venue limit.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.exchanges.client import ErrorCode, ExchangeClient, ExchangeError
from adapters.exchanges.live import LiveExchanges
from api.errors import ApiError
from db.models import Account
from domain.vocabulary import Exchange


async def venue_limits(client: ExchangeClient, symbols: list[str]) -> dict[str, int]:
    """The venue's maximum leverage of each symbol it lists (a symbol it does not list, or one
    without a limit, is left out: the venue refuses its orders anyway)."""
    limits: dict[str, int] = {}
    for symbol in symbols:
        try:
            found = await client.max_leverage(symbol)
        except ExchangeError as err:
            if err.code == ErrorCode.SYMBOL_UNKNOWN:
                continue
            if err.retryable:
                raise ApiError(
                    503,
                    "EXCHANGE_UNAVAILABLE",
                    f"{client.venue} could not be reached to check max_leverage against its "
                    f"own limits ({err.code}); nothing was changed, try again",
                ) from err
            raise
        if found is not None:
            limits[symbol] = found
    return limits


def check_within(venue: str, max_leverage: Decimal, limits: dict[str, int]) -> None:
    over = {sym: lim for sym, lim in limits.items() if max_leverage > lim}
    if over:
        listed = ", ".join(f"{sym} {lim}x" for sym, lim in sorted(over.items()))
        raise ApiError(
            422,
            "LEVERAGE_ABOVE_VENUE_MAX",
            f"max_leverage: {max_leverage}x is above {venue}'s maximum leverage for "
            f"{listed}; lower max_leverage to at most {min(over.values())}",
        )


async def check_with_client(
    client: ExchangeClient, max_leverage: Decimal, symbols: list[str]
) -> None:
    check_within(client.venue, max_leverage, await venue_limits(client, symbols))


async def check_account(
    live: LiveExchanges, acct: Account, max_leverage: Decimal, symbols: list[str]
) -> None:
    """A connected live trader's settings (as they are about to become) against its venue."""
    if acct.exchange == Exchange.PAPER or acct.exchange_credentials_sealed is None:
        return  # paper: no venue limit; not connected: checked when it connects
    async with live.client(acct.id) as client:
        await check_with_client(client, max_leverage, symbols)
