"""/api/signals: signal definitions and pools (pools are evaluated by durable workflows)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import Field, StrictBool, ValidationError
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.queries import MAX_ID, get_owned
from api.schemas import Name, Strict, as_utc, storable
from db.models import Binding, SignalDefinitionRecord, SignalPoolRecord
from domain.signals import SignalDefinition, SignalPool, parse_definition

router = APIRouter(prefix="/api/signals", tags=["signals"], route_class=ExactNumbersRoute)
MAX_BODY_KEYS = 50


def _definition(body: dict[str, Any]) -> SignalDefinition:
    if not isinstance(body, dict) or len(body) > MAX_BODY_KEYS:
        raise ApiError(422, "INVALID_SIGNAL", "Body must be a JSON object")
    try:
        return parse_definition(storable(body))
    except (ValidationError, ValueError, TypeError) as err:
        msg = _first_error(err) if isinstance(err, ValidationError) else str(err)
        raise ApiError(422, "INVALID_SIGNAL", msg) from err


def _first_error(err: ValidationError) -> str:
    """The first problem, naming its field when it has one."""
    first = err.errors()[0]
    msg = str(first["msg"]).removeprefix("Value error, ")
    loc = ".".join(str(p) for p in first.get("loc", ()))
    return f"{loc}: {msg}" if loc else msg


def definition_out(r: SignalDefinitionRecord) -> dict[str, Any]:
    d = SignalDefinition.model_validate({**r.spec, "name": r.name, "enabled": r.enabled})
    return {
        "id": r.id,
        "name": r.name,
        "type": d.signal_type,
        "enabled": r.enabled,
        **d.model_dump(mode="json", exclude={"name", "enabled"}),
        "config": d.to_nested()["config"],
        "created_at": as_utc(r.created_at).isoformat(),
        "updated_at": as_utc(r.updated_at).isoformat(),
    }


class PoolBody(Strict):
    name: Name
    symbols: list[str] = Field(min_length=1, max_length=50)
    signal_ids: list[int] = Field(min_length=1, max_length=50)
    logic: str = "and"
    cooldown_seconds: int = Field(default=0, ge=0, le=30 * 86400)
    enabled: StrictBool = True


def pool_out(r: SignalPoolRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "symbols": r.symbols,
        "signal_ids": r.signal_ids,
        "signals_count": len(r.signal_ids),
        "logic": r.logic,
        "cooldown_seconds": r.cooldown_seconds,
        "enabled": r.enabled,
        "created_at": as_utc(r.created_at).isoformat(),
        "updated_at": as_utc(r.updated_at).isoformat(),
    }


async def _check_pool(s: SessionDep, body: PoolBody, request: Request, owner: int) -> SignalPool:
    try:
        pool = SignalPool.model_validate(body.model_dump())
    except ValidationError as err:
        raise ApiError(422, "INVALID_POOL", _first_error(err)) from err
    unknown = [sym for sym in pool.symbols if sym not in request.app.state.feed.symbols()]
    if unknown:
        raise ApiError(422, "SYMBOL_NOT_SUPPORTED", f"Unknown symbols: {', '.join(unknown)}")
    found = set(
        await s.scalars(
            select(SignalDefinitionRecord.id).where(
                SignalDefinitionRecord.id.in_([i for i in body.signal_ids if 0 < i <= MAX_ID]),
                SignalDefinitionRecord.owner_id == owner,
            )
        )
    )
    missing = [i for i in body.signal_ids if i not in found]
    if missing:  # someone else's signal is as unknown as a missing one
        raise ApiError(422, "SIGNAL_NOT_FOUND", f"Unknown signal ids: {missing}")
    return pool


def _defs(owner: int):  # type: ignore[no-untyped-def]
    return (
        select(SignalDefinitionRecord)
        .where(SignalDefinitionRecord.owner_id == owner)
        .order_by(SignalDefinitionRecord.id)
    )


def _pools(owner: int):  # type: ignore[no-untyped-def]
    return (
        select(SignalPoolRecord)
        .where(SignalPoolRecord.owner_id == owner)
        .order_by(SignalPoolRecord.id)
    )


@router.get("/")
async def list_all(s: SessionDep, user: CurrentUser) -> dict[str, list[dict[str, Any]]]:
    """Your definitions and pools."""
    defs = await s.scalars(_defs(user.id))
    pools = await s.scalars(_pools(user.id))
    return {"definitions": [definition_out(d) for d in defs], "pools": [pool_out(p) for p in pools]}


@router.get("/definitions")
async def list_definitions(s: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Your signal definitions."""
    rows = await s.scalars(_defs(user.id))
    return [definition_out(d) for d in rows]


@router.post("/definitions", status_code=201)
async def create_definition(
    s: SessionDep, user: CurrentUser, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Create a definition: flat fields, or the nested {type, config} form."""
    d = _definition(body)
    rec = SignalDefinitionRecord(
        name=d.name,
        enabled=d.enabled,
        spec=d.model_dump(mode="json", exclude={"name", "enabled"}),
        owner_id=user.id,
    )
    s.add(rec)
    await s.commit()
    return definition_out(rec)


async def _get_def(s: SessionDep, signal_id: int, owner: int) -> SignalDefinitionRecord:
    return await get_owned(s, SignalDefinitionRecord, signal_id, owner, "signal")


@router.get("/definitions/{signal_id}")
async def read_definition(signal_id: int, s: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """One definition."""
    return definition_out(await _get_def(s, signal_id, user.id))


@router.put("/definitions/{signal_id}")
async def update_definition(
    signal_id: int,
    s: SessionDep,
    request: Request,
    user: CurrentUser,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    """Replace a definition (fields not given keep their value)."""
    rec = await _get_def(s, signal_id, user.id)
    current = {**rec.spec, "name": rec.name, "enabled": rec.enabled}
    merged = {**current, **body} if "config" not in body else body
    d = _definition(merged)
    rec.name, rec.enabled = d.name, d.enabled
    rec.spec = d.model_dump(mode="json", exclude={"name", "enabled"})
    await s.commit()
    await _refresh_pools_using(s, request, signal_id, user.id)
    return definition_out(rec)


@router.delete("/definitions/{signal_id}", status_code=204)
async def delete_definition(signal_id: int, s: SessionDep, user: CurrentUser) -> None:
    """Delete a definition no pool uses."""
    rec = await _get_def(s, signal_id, user.id)
    for pool in await s.scalars(select(SignalPoolRecord)):
        if signal_id in (pool.signal_ids or []):
            raise ApiError(409, "SIGNAL_IN_USE", f"Signal is used by pool {pool.id}")
    await s.delete(rec)
    await s.commit()


async def _refresh_pools_using(s: SessionDep, request: Request, signal_id: int, owner: int) -> None:
    for pool in await s.scalars(_pools(owner)):
        if signal_id in (pool.signal_ids or []) and pool.enabled:
            await request.app.state.pools.changed(pool.id, True)


@router.get("/pools")
async def list_pools(s: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Your signal pools."""
    return [pool_out(p) for p in await s.scalars(_pools(user.id))]


@router.post("/pools", status_code=201)
async def create_pool(
    body: PoolBody, s: SessionDep, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """Create a pool of your signals; when enabled, its evaluation workflow starts."""
    pool = await _check_pool(s, body, request, user.id)
    rec = SignalPoolRecord(
        name=pool.name,
        symbols=pool.symbols,
        signal_ids=body.signal_ids,
        logic=pool.logic.value,
        cooldown_seconds=pool.cooldown_seconds,
        enabled=pool.enabled,
        owner_id=user.id,
    )
    s.add(rec)
    await s.commit()
    if rec.enabled:
        await request.app.state.pools.ensure_running(rec.id)
    return pool_out(rec)


async def _get_pool(s: SessionDep, pool_id: int, owner: int) -> SignalPoolRecord:
    return await get_owned(s, SignalPoolRecord, pool_id, owner, "pool")


@router.get("/pools/{pool_id}")
async def read_pool(pool_id: int, s: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """One pool."""
    return pool_out(await _get_pool(s, pool_id, user.id))


@router.put("/pools/{pool_id}")
async def update_pool(
    pool_id: int, body: PoolBody, s: SessionDep, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """Replace a pool; its workflow picks the change up at once."""
    rec = await _get_pool(s, pool_id, user.id)
    pool = await _check_pool(s, body, request, user.id)
    rec.name, rec.symbols, rec.signal_ids = pool.name, pool.symbols, body.signal_ids
    rec.logic, rec.cooldown_seconds, rec.enabled = (
        pool.logic.value,
        pool.cooldown_seconds,
        pool.enabled,
    )
    await s.commit()
    await request.app.state.pools.changed(pool_id, rec.enabled)
    return pool_out(rec)


@router.delete("/pools/{pool_id}", status_code=204)
async def delete_pool(pool_id: int, s: SessionDep, request: Request, user: CurrentUser) -> None:
    """Delete a pool no binding uses."""
    rec = await _get_pool(s, pool_id, user.id)
    for b in await s.scalars(select(Binding)):
        if pool_id in (b.signal_pool_ids or []):
            raise ApiError(409, "POOL_IN_USE", f"Pool is bound to trader {b.account_id}")
    await s.delete(rec)
    await s.commit()
    await request.app.state.pools.stop(pool_id)


@router.post("/pools/{pool_id}/evaluate")
async def evaluate_pool_now(
    pool_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """Evaluate the pool on the latest closed candle now; returns how many fires it sent."""
    rec = await _get_pool(s, pool_id, user.id)
    if not rec.enabled:
        raise ApiError(409, "POOL_DISABLED", "Enable the pool first")
    fires = await request.app.state.pools.evaluate_now(pool_id)
    return {"pool_id": pool_id, "fires": fires}
