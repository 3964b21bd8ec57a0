"""/api/account: traders and their lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from sqlalchemy import select

from api.auth import CurrentUser
from api.breaker_settings import apply_breaker_settings, tell_config_changed
from api.deps import ControlDep, SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.exchange_config import selected_exchange
from api.idempotency import check_reuse, earlier_decision
from api.llm_config import KEY_FIELD, LLM_FIELDS, apply_llm_settings
from api.market import check_symbols
from api.queries import account_out, decisions_out, get_account, listed_accounts
from api.schemas import (
    BREAKER_FIELDS,
    AccountCreate,
    AccountOut,
    AccountUpdate,
    PauseBody,
    TriggerBody,
    TriggerOut,
)
from api.trader_deletion import PositionsChoice, settle_positions
from api.venue_leverage import check_account
from db.base import utcnow
from db.models import Account, Binding, DecisionRecord
from domain.ids import is_order_of
from domain.trader import CancelRequest, TraderStatus, TriggerRequest
from domain.vocabulary import AccountType, Exchange

router = APIRouter(prefix="/api/account", tags=["accounts"], route_class=ExactNumbersRoute)
# Client order ids the platform mints (`ho-1-2-entry:tp`), and symbols: plain ASCII only.
ORDER_ID = r"^[A-Za-z0-9:._-]+$"
SYMBOL = r"^[A-Za-z0-9._-]+$"


def refuse_llm_fields(account_type: str, fields: dict[str, Any]) -> None:
    """A program trader has no model: LLM settings given for one are a mistake, not ignored."""
    given = [f for f in LLM_FIELDS if fields.get(f) is not None]
    if account_type != AccountType.PROMPT and given:
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"{given[0]}: LLM settings are only for prompt traders (account_type 'prompt')",
        )


@router.post("/", status_code=201, response_model=AccountOut)
async def create_account(
    body: AccountCreate, s: SessionDep, control: ControlDep, request: Request, user: CurrentUser
) -> AccountOut:
    """Create a trader (its workflow starts paused unless trading_enabled); without an
    `exchange`, on your selected one (GET /api/users/exchange-config)."""
    exchange = (
        body.exchange
        if "exchange" in body.model_fields_set
        else await selected_exchange(s, user.id)
    )
    check_symbols(request.app.state.feed, exchange, body.symbols)
    refuse_llm_fields(body.account_type, body.model_dump(include=set(LLM_FIELDS)))
    acct = Account(
        **body.model_dump(exclude={"account_type", "exchange", *LLM_FIELDS}),
        account_type=body.account_type.value,
        exchange=exchange.value,
        status=TraderStatus.ACTIVE if body.trading_enabled else TraderStatus.PAUSED,
        owner_id=user.id,
    )
    s.add(acct)
    await s.flush()  # the id binds the sealed key to this trader
    await apply_llm_settings(
        acct,
        body.model_dump(include=set(LLM_FIELDS), exclude_none=True),
        request.app.state.vault,
        request.app.state.settings.llm_allow_private_hosts,
    )
    await s.commit()
    try:
        await control.ensure_started(acct.id, paused=not body.trading_enabled)
    except ApiError:
        await s.delete(acct)  # no half-created trader without its workflow
        await s.commit()
        raise
    return account_out(acct)


@router.get("/list", response_model=list[AccountOut])
async def list_accounts(
    s: SessionDep, user: CurrentUser, include_hidden: bool = False
) -> list[AccountOut]:
    """List your traders; deleted and hidden ones only with include_hidden."""
    return [account_out(a) for a in await listed_accounts(s, user.id, include_hidden)]


@router.get("/{account_id}", response_model=AccountOut)
async def read_account(account_id: int, s: SessionDep, user: CurrentUser) -> AccountOut:
    """One trader with its status."""
    return account_out(await get_account(s, account_id, user.id))


@router.put("/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: int,
    body: AccountUpdate,
    s: SessionDep,
    control: ControlDep,
    request: Request,
    user: CurrentUser,
) -> AccountOut:
    """Change a trader; trading_enabled starts or pauses it. The LLM key is write-only."""
    acct = await get_account(s, account_id, user.id, live=True)
    if body.symbols is not None:
        check_symbols(request.app.state.feed, acct.exchange, body.symbols)
    llm = {
        field: value
        for field, value in body.model_dump(include=set(LLM_FIELDS), exclude_unset=True).items()
        if value is not None or field == KEY_FIELD  # a null key clears it; other nulls: no change
    }
    refuse_llm_fields(acct.account_type, llm)
    await apply_llm_settings(
        acct, llm, request.app.state.vault, request.app.state.settings.llm_allow_private_hosts
    )
    changes = body.model_dump(
        exclude_unset=True, exclude={"trading_enabled", *LLM_FIELDS, *BREAKER_FIELDS}
    )
    for field, value in changes.items():
        if value is None:
            raise ApiError(422, "VALIDATION_ERROR", f"{field} may not be null")
    if body.max_leverage is not None or body.symbols is not None:
        await check_account(
            request.app.state.exchange.live,
            acct,
            body.max_leverage or acct.max_leverage,
            body.symbols or list(acct.symbols),
        )
    for field, value in changes.items():
        setattr(acct, field, value)
    breakers_changed = await apply_breaker_settings(s, acct, body)
    await s.commit()
    if breakers_changed:
        await tell_config_changed(control, acct.id)
    if body.trading_enabled is True:
        await _start(acct, s, control)
    elif body.trading_enabled is False:
        await _pause(acct, s, control, "")
    return account_out(acct)


@router.delete("/{account_id}", response_model=AccountOut)
async def delete_account(
    account_id: int,
    s: SessionDep,
    control: ControlDep,
    request: Request,
    user: CurrentUser,
    positions: PositionsChoice | None = None,
) -> AccountOut:
    """Soft delete: execution stops, history stays. A trader holding positions needs
    `positions=close` (closed through its workflow first) or `positions=leave` (left open,
    unwatched, recorded in its decision log); without either it is a 409 listing them."""
    acct = await get_account(s, account_id, user.id)
    left: list[dict[str, Any]] = []
    if not acct.is_deleted:
        left = await settle_positions(acct, control, request.app.state.exchange, positions)
        acct.is_deleted, acct.deleted_at = True, utcnow()
        acct.trading_enabled, acct.status = False, TraderStatus.DELETED
        await s.commit()
    await control.stop(account_id, left)
    return account_out(acct)


async def _start(acct: Account, s: SessionDep, control: ControlDep) -> None:
    if acct.exchange != Exchange.PAPER and acct.exchange_credentials_sealed is None:
        raise ApiError(
            409,
            "EXCHANGE_NOT_CONNECTED",
            f"Connect the {acct.exchange} account first (PUT /api/account/{acct.id}/exchange)",
        )
    await control.ensure_started(acct.id, paused=False)
    await control.resume(acct.id)
    if acct.status == TraderStatus.PAUSED:
        acct.status, acct.status_reason = TraderStatus.ACTIVE, None
    acct.trading_enabled = True
    await s.commit()


async def _pause(acct: Account, s: SessionDep, control: ControlDep, reason: str) -> None:
    await control.ensure_started(acct.id, paused=True)
    await control.pause(acct.id, reason)
    acct.trading_enabled = False
    acct.status, acct.status_reason = TraderStatus.PAUSED, reason or None
    await s.commit()


@router.post("/{account_id}/start", response_model=AccountOut)
async def start(
    account_id: int, s: SessionDep, control: ControlDep, user: CurrentUser
) -> AccountOut:
    """Start trading (same as resume)."""
    acct = await get_account(s, account_id, user.id, live=True)
    await _start(acct, s, control)
    return account_out(acct)


@router.post("/{account_id}/resume", response_model=AccountOut)
async def resume(
    account_id: int, s: SessionDep, control: ControlDep, user: CurrentUser
) -> AccountOut:
    """Resume a paused trader."""
    return await start(account_id, s, control, user)


@router.post("/{account_id}/pause", response_model=AccountOut)
async def pause(
    account_id: int,
    s: SessionDep,
    control: ControlDep,
    user: CurrentUser,
    body: PauseBody | None = None,
) -> AccountOut:
    """Pause: no new orders from now on; open positions stay open."""
    acct = await get_account(s, account_id, user.id, live=True)
    await _pause(acct, s, control, body.reason if body else "")
    return account_out(acct)


async def _workflow_paused(control: ControlDep, account_id: int) -> bool:
    """The trader's workflow decides whether it is paused; the row's flag is the workflow's
    last recorded status and can lag it (a status recorded just before a resume arrived lands
    after the start request committed), so a paused row is checked with the workflow."""
    try:
        return (await control.status(account_id)).paused
    except ApiError:  # not running (never started) or Temporal unavailable: the row stands
        return True


@router.post("/{account_id}/trigger", response_model=TriggerOut)
async def trigger(
    account_id: int,
    s: SessionDep,
    control: ControlDep,
    user: CurrentUser,
    body: TriggerBody | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    include_snapshot: bool = False,
) -> TriggerOut:
    """Run one decision now and return it with its risk verdict and orders (the recorded
    decision's input snapshot only with include_snapshot=true)."""
    body = body or TriggerBody()
    acct = await get_account(s, account_id, user.id, live=True)
    if not acct.trading_enabled and await _workflow_paused(control, account_id):
        raise ApiError(409, "TRADER_PAUSED", "Trader is paused: start or resume it first")
    bindings = list(await s.scalars(select(Binding.id).where(Binding.account_id == account_id)))
    if not bindings:
        raise ApiError(409, "NO_STRATEGY_BOUND", "Bind a program or prompt to this trader first")
    if body.binding_id is not None and body.binding_id not in bindings:
        raise ApiError(404, "BINDING_NOT_FOUND", f"Binding {body.binding_id} not found")
    if idempotency_key is not None:  # a key already used: the same body, or nothing runs
        check_reuse(await earlier_decision(s, account_id, idempotency_key), body)
    outcome = await control.trigger(
        account_id,
        TriggerRequest(binding_id=body.binding_id, context=body.context),
        idempotency_key,
    )
    await s.rollback()  # end the read transaction so the worker's writes are visible
    rec = await s.get(DecisionRecord, outcome.decision_id) if outcome.decision_id else None
    if idempotency_key is not None:  # a concurrent request with the key ran another body
        check_reuse(rec, body)
    record = (await decisions_out(s, [rec], include_snapshot))[0] if rec else None
    return TriggerOut(
        decision_id=outcome.decision_id,
        status=outcome.status,
        decision=outcome.decision.model_dump(mode="json") if outcome.decision else None,
        risk_verdict=outcome.risk_verdict,
        error_code=outcome.error_code,
        error=outcome.error,
        orders=outcome.orders,
        record=record,
    )


@router.post("/{account_id}/orders/{client_order_id}/cancel")
async def cancel_order(
    account_id: int,
    client_order_id: Annotated[str, Path(max_length=80, pattern=ORDER_ID)],
    s: SessionDep,
    control: ControlDep,
    user: CurrentUser,
    symbol: Annotated[str | None, Query(max_length=32, pattern=SYMBOL)] = None,
) -> dict[str, object]:
    """Cancel a resting order the platform placed (e.g. a TP/SL leg `<id>:tp`)."""
    await get_account(s, account_id, user.id, live=True)
    if not is_order_of(client_order_id, account_id):
        raise ApiError(
            404, "ORDER_NOT_FOUND", f"{client_order_id} is not an order this trader placed"
        )
    result = await control.cancel(
        account_id, CancelRequest(client_order_id=client_order_id, symbol=symbol)
    )
    return result.model_dump()
