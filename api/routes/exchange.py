"""PUT /api/account/{id}/exchange: connect a trader to its Hyperliquid or Binance account."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from adapters.exchanges.client import ExchangeError
from adapters.exchanges.live import CREDENTIALS_FIELD, build_client
from adapters.llm.providers import ProviderConfigError, validate_base_url
from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.queries import account_out, get_account
from api.schemas import AccountOut, ExchangeConnect
from api.venue_leverage import check_with_client
from db.base import utcnow
from domain.vocabulary import Exchange
from vault import hint, seal

router = APIRouter(
    prefix="/api/account/{account_id}", tags=["exchange"], route_class=ExactNumbersRoute
)


def _secrets(exchange: str, body: ExchangeConnect) -> dict[str, str]:
    if exchange == Exchange.HYPERLIQUID:
        if not body.wallet_address or not body.api_wallet_private_key:
            raise ApiError(
                422,
                "VALIDATION_ERROR",
                "Hyperliquid needs wallet_address and api_wallet_private_key",
            )
        return {"api_wallet_private_key": body.api_wallet_private_key}
    if not body.api_key or not body.api_secret:
        raise ApiError(422, "VALIDATION_ERROR", "Binance needs api_key and api_secret")
    return {"api_key": body.api_key, "api_secret": body.api_secret}


@router.put("/exchange", response_model=AccountOut)
async def connect_exchange(
    account_id: int, body: ExchangeConnect, s: SessionDep, request: Request, user: CurrentUser
) -> AccountOut:
    """Check the keys with the exchange, then store them encrypted (write-only)."""
    acct = await get_account(s, account_id, user.id, live=True)
    if acct.exchange == Exchange.PAPER:
        raise ApiError(409, "PAPER_ACCOUNT", "Paper traders have no exchange to connect")
    secrets = _secrets(acct.exchange, body)
    base_url = None
    if body.base_url:
        try:
            base_url = validate_base_url(body.base_url)
        except ProviderConfigError as err:
            raise ApiError(422, "VALIDATION_ERROR", str(err)) from err
    try:
        client = build_client(
            acct.exchange,
            body.environment.value,
            base_url,
            body.wallet_address,
            secrets,
            symbols=list(acct.symbols),
        )
    except ValueError as err:
        raise ApiError(422, "INVALID_CREDENTIALS", str(err)) from None
    try:
        verdict = await client.verify()
        if verdict.ok:  # the trader's leverage against this venue's own maximum
            await check_with_client(client, acct.max_leverage, list(acct.symbols))
    except ExchangeError as err:
        status = 503 if err.retryable else 422
        raise ApiError(status, f"EXCHANGE_{err.code}", f"{acct.exchange}: {err}") from None
    finally:
        await client.close()
    if not verdict.ok:
        raise ApiError(422, verdict.code or "EXCHANGE_REFUSED", verdict.reason)
    acct.exchange_environment = body.environment
    acct.exchange_base_url = base_url
    acct.exchange_wallet_address = (
        body.wallet_address if acct.exchange == Exchange.HYPERLIQUID else None
    )
    acct.exchange_credentials_sealed = seal(
        request.app.state.vault, json.dumps(secrets), acct.id, CREDENTIALS_FIELD
    ).to_json()
    acct.exchange_key_hint = hint(body.api_key or body.api_wallet_private_key or "")
    acct.exchange_connected_at = utcnow()
    await s.commit()
    return account_out(acct)
