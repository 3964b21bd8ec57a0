"""/api/account/{id}/bindings: which strategy a trader runs, and when."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import ControlDep, SessionDep
from api.errors import ApiError, not_found
from api.exact_json import ExactNumbersRoute
from api.queries import MAX_ID, get_account, get_owned
from api.schemas import BindingCreate, BindingOut
from db.models import Binding, Program, PromptTemplate, SignalPoolRecord
from domain.vocabulary import AccountType

router = APIRouter(
    prefix="/api/account/{account_id}/bindings", tags=["bindings"], route_class=ExactNumbersRoute
)


def _out(b: Binding) -> BindingOut:
    return BindingOut.model_validate(b, from_attributes=True)


@router.post("", status_code=201, response_model=BindingOut)
async def create_binding(
    account_id: int, body: BindingCreate, s: SessionDep, control: ControlDep, user: CurrentUser
) -> BindingOut:
    """Attach your program (or, for prompt traders, your prompt) with its triggers."""
    acct = await get_account(s, account_id, user.id, live=True)
    if (body.program_id is None) == (body.prompt_id is None):
        raise ApiError(422, "VALIDATION_ERROR", "Give exactly one of program_id or prompt_id")
    if acct.account_type == AccountType.PROGRAM and body.program_id is None:
        raise ApiError(422, "BINDING_TYPE_MISMATCH", "A program trader is bound to a program")
    if acct.account_type == AccountType.PROMPT and body.prompt_id is None:
        raise ApiError(422, "BINDING_TYPE_MISMATCH", "A prompt trader is bound to a prompt")
    if body.program_id is not None:
        await get_owned(s, Program, body.program_id, user.id, "program")
    if body.prompt_id is not None:
        await get_owned(s, PromptTemplate, body.prompt_id, user.id, "prompt")
    if body.signal_pool_ids:
        wanted = [p for p in body.signal_pool_ids if 0 < p <= MAX_ID]
        found = set(
            await s.scalars(
                select(SignalPoolRecord.id).where(
                    SignalPoolRecord.id.in_(wanted), SignalPoolRecord.owner_id == user.id
                )
            )
        )
        missing = [p for p in body.signal_pool_ids if p not in found]
        if missing:  # someone else's pool is as unknown as a missing one
            raise ApiError(404, "SIGNAL_POOL_NOT_FOUND", f"Unknown signal pools: {missing}")
    b = Binding(account_id=account_id, **body.model_dump())
    s.add(b)
    await s.commit()
    await control.config_changed(account_id)
    return _out(b)


@router.get("", response_model=list[BindingOut])
async def list_bindings(account_id: int, s: SessionDep, user: CurrentUser) -> list[BindingOut]:
    """A trader's bindings."""
    await get_account(s, account_id, user.id)
    rows = await s.scalars(
        select(Binding).where(Binding.account_id == account_id).order_by(Binding.id)
    )
    return [_out(b) for b in rows]


async def _get_binding(s: SessionDep, account_id: int, binding_id: int, owner: int) -> Binding:
    await get_account(s, account_id, owner)
    b = await s.get(Binding, binding_id) if 0 < binding_id <= MAX_ID else None
    if b is None or b.account_id != account_id:
        raise not_found("binding", binding_id)
    return b


@router.get("/{binding_id}", response_model=BindingOut)
async def read_binding(
    account_id: int, binding_id: int, s: SessionDep, user: CurrentUser
) -> BindingOut:
    """One binding."""
    return _out(await _get_binding(s, account_id, binding_id, user.id))


@router.delete("/{binding_id}", status_code=204)
async def delete_binding(
    account_id: int, binding_id: int, s: SessionDep, control: ControlDep, user: CurrentUser
) -> None:
    """Detach a strategy; its schedule stops."""
    b = await _get_binding(s, account_id, binding_id, user.id)
    await s.delete(b)
    await s.commit()
    acct = await get_account(s, account_id, user.id)
    if not acct.is_deleted:
        await control.config_changed(account_id)
