"""The trader form: create (`/traders/new`) and edit (`/traders/{id}/edit`) a trader, its
exchange keys and a binding, through the same functions as POST /api/account/, PUT
/api/account/{id}, PUT /api/account/{id}/exchange and POST /api/account/{id}/bindings.

A rejected form is shown again with each error next to its field (status 422) and without any
key typed into it; a saved one redirects to the edit page, which shows keys only as "set,
ending abcd"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from adapters.llm.providers import PRESETS
from api.deps import ControlDep, SessionDep
from api.errors import ApiError
from api.queries import MAX_ID, account_out, get_account
from api.routes import accounts as account_routes
from api.routes import bindings as binding_routes
from api.routes import exchange as exchange_routes
from api.routes.programs import list_programs
from api.routes.prompts import list_prompts
from api.routes.signals import list_pools
from api.schemas import AccountCreate, AccountOut, AccountUpdate, BindingCreate, ExchangeConnect
from api.web.login import Forbidden, SignedIn
from api.web.render import pages, redirect
from api.web.session import csrf_sent, same
from api.web.trader_form_data import (
    Posted,
    api_error,
    binding_body,
    create_body,
    exchange_body,
    key_hint,
    read_posted,
    update_body,
    validation_errors,
)
from api.web.traders import PageNotFound

router = APIRouter(include_in_schema=False)


async def _choices(s: SessionDep, who: SignedIn) -> dict[str, Any]:
    """The user's own programs, prompts and signal pools (the list routes' answers)."""
    return {
        "programs": await list_programs(s, who.caller),
        "prompts": await list_prompts(s, who.caller),
        "pools": await list_pools(s, who.caller),
        "providers": list(PRESETS),
    }


async def _form(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    account: AccountOut | None,
    posted: Posted | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
) -> Response:
    bindings = await binding_routes.list_bindings(account.id, s, who.caller) if account else []
    return pages(request).html(
        request,
        "trader_form.html",
        status=422 if errors else 200,
        who=who,
        account=account,
        # What the user typed, to show again after an error: never a key (see SECRET_FIELDS).
        typed=(posted.values if posted else {}),
        typed_pools=(posted.pools if posted else []),
        errors=errors or {},
        saved=saved,
        llm_key=key_hint(account.llm_api_key_hint) if account and account.llm_api_key_set else "",
        exchange_key=key_hint(account.exchange_key_hint) if account else "",
        bindings=bindings,
        **await _choices(s, who),
    )


async def _posted(request: Request, who: SignedIn) -> Posted:
    posted = await read_posted(request)
    if not same(csrf_sent(request, posted.values), who.csrf):
        raise Forbidden()
    return posted


async def _owned(s: SessionDep, who: SignedIn, account_id: int) -> AccountOut:
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    try:
        return account_out(await get_account(s, account_id, who.caller.id))
    except ApiError as err:  # another user's trader: the same page as a missing one
        raise PageNotFound() from err


async def _connect_and_bind(
    request: Request, s: SessionDep, control: ControlDep, who: SignedIn, account_id: int, p: Posted
) -> dict[str, str]:
    """The exchange keys and the new binding, if the form has them: the errors, by field."""
    errors: dict[str, str] = {}
    try:
        keys = exchange_body(p)
        if keys is not None:
            connect = ExchangeConnect.model_validate(keys)
            await exchange_routes.connect_exchange(account_id, connect, s, request, who.caller)
    except ValidationError as err:
        errors.update(validation_errors(err))
    except ApiError as err:
        await s.rollback()
        errors.update(api_error(err, "exchange_keys"))
    try:
        bind = binding_body(p)
        if bind is not None:
            body = BindingCreate.model_validate(bind)
            await binding_routes.create_binding(account_id, body, s, control, who.caller)
    except ValidationError as err:
        errors.update(validation_errors(err))
    except ApiError as err:
        await s.rollback()
        errors.update(api_error(err, "binding"))
    return errors


@router.get("/traders/new", response_class=HTMLResponse)
async def new_trader(request: Request, s: SessionDep, who: SignedIn) -> Response:
    return await _form(request, s, who, None)


@router.post("/traders/new", response_class=HTMLResponse)
async def create_trader(
    request: Request, s: SessionDep, control: ControlDep, who: SignedIn
) -> Response:
    p = await _posted(request, who)
    try:
        body = AccountCreate.model_validate(create_body(p))
        created = await account_routes.create_account(body, s, control, request, who.caller)
    except ValidationError as err:
        return await _form(request, s, who, None, p, validation_errors(err))
    except ApiError as err:
        await s.rollback()
        return await _form(request, s, who, None, p, api_error(err))
    errors = await _connect_and_bind(request, s, control, who, created.id, p)
    if errors:  # the trader exists: the rest is fixed on its edit form
        account = await _owned(s, who, created.id)
        done = "The trader was created; what is marked below was not saved."
        errors["form"] = f"{done} {errors['form']}" if "form" in errors else done
        return await _form(request, s, who, account, p, errors)
    return redirect(f"/traders/{created.id}/edit?saved=created")


@router.get("/traders/{account_id}/edit", response_class=HTMLResponse)
async def edit_trader(
    request: Request, s: SessionDep, who: SignedIn, account_id: int, saved: str = ""
) -> Response:
    account = await _owned(s, who, account_id)
    return await _form(request, s, who, account, saved=saved[:16])


@router.post("/traders/{account_id}/edit", response_class=HTMLResponse)
async def update_trader(
    request: Request, s: SessionDep, control: ControlDep, who: SignedIn, account_id: int
) -> Response:
    p = await _posted(request, who)
    account = await _owned(s, who, account_id)
    try:
        changes = update_body(p, account)
        if changes:
            body = AccountUpdate.model_validate(changes)
            await account_routes.update_account(account_id, body, s, control, request, who.caller)
    except ValidationError as err:
        return await _form(request, s, who, account, p, validation_errors(err))
    except ApiError as err:
        await s.rollback()
        return await _form(request, s, who, account, p, api_error(err))
    errors = await _connect_and_bind(request, s, control, who, account_id, p)
    if errors:
        return await _form(request, s, who, await _owned(s, who, account_id), p, errors)
    return redirect(f"/traders/{account_id}/edit?saved=saved")


@router.post("/traders/{account_id}/bindings/{binding_id}/delete", response_class=HTMLResponse)
async def delete_binding(
    request: Request,
    s: SessionDep,
    control: ControlDep,
    who: SignedIn,
    account_id: int,
    binding_id: int,
) -> Response:
    await _posted(request, who)
    await _owned(s, who, account_id)
    try:
        await binding_routes.delete_binding(account_id, binding_id, s, control, who.caller)
    except ApiError as err:
        raise PageNotFound() from err
    return redirect(f"/traders/{account_id}/edit?saved=unbound")
