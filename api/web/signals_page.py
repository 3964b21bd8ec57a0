"""Signals (`/signals`): your signal definitions and pools (create, edit, enable or disable,
delete) and a pool's evaluate-now with how many fires it sent. Every action calls the
/api/signals route function that does it (api/web/editors.py says why)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.errors import ApiError
from api.routes import signals as signal_routes
from api.web.editors import (
    EditorPageNotFound,
    checked_id,
    editor_form,
    go,
    many,
    refusal,
    refused_in_place,
    text,
)
from api.web.login import SignedIn
from api.web.render import pages

router = APIRouter(include_in_schema=False)
EXAMPLE = {"indicator": "rsi", "period": 14, "operator": "<", "threshold": 30, "timeframe": "5m"}
# What a definition's JSON shows: the fields that make it, not its id, name or times.
NOT_SPEC = {"id", "name", "enabled", "type", "config", "created_at", "updated_at"}
NEW_POOL: dict[str, Any] = {"id": None, "name": "", "symbols": [], "signal_ids": [], "logic": "and",
            "cooldown_seconds": 0, "enabled": True}  # fmt: skip


def _spec_text(d: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in d.items() if k not in NOT_SPEC}, indent=2)


async def _page(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    definition: dict[str, Any] | None = None,
    pool: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    found = await signal_routes.list_all(s, who.caller)
    definition = definition or {"id": None, "name": "", "enabled": True,
                                "spec": json.dumps(EXAMPLE, indent=2)}  # fmt: skip
    page = pages(request).html(
        request, "signals.html", status=status, who=who, definitions=found["definitions"],
        pools=found["pools"], definition=definition, pool=pool or NEW_POOL, error=error,
        symbols=sorted(request.app.state.feed.symbols()),
    )  # fmt: skip
    return refused_in_place(request, page)


async def _definition(s: SessionDep, who: SignedIn, signal_id: int) -> dict[str, Any]:
    try:
        return await signal_routes.read_definition(checked_id(signal_id), s, who.caller)
    except ApiError as err:
        raise EditorPageNotFound() from err


async def _pool(s: SessionDep, who: SignedIn, pool_id: int) -> dict[str, Any]:
    try:
        return await signal_routes.read_pool(checked_id(pool_id), s, who.caller)
    except ApiError as err:
        raise EditorPageNotFound() from err


def _definition_body(form: dict[str, Any]) -> dict[str, Any]:
    try:
        spec = json.loads(text(form, "spec") or "{}")
    except json.JSONDecodeError as err:
        problem = f"spec: not JSON ({err.msg}, line {err.lineno})"
        raise ApiError(422, "INVALID_SIGNAL", problem) from err
    if not isinstance(spec, dict):
        raise ApiError(422, "INVALID_SIGNAL", "spec: must be a JSON object")
    return {**spec, "name": text(form, "name"), "enabled": text(form, "enabled") == "on"}


def _pool_body(form: dict[str, Any]) -> signal_routes.PoolBody:
    cooldown = text(form, "cooldown_seconds").strip() or "0"
    return signal_routes.PoolBody(
        name=text(form, "name"),
        symbols=[x.strip().upper() for x in many(form, "symbols") if x.strip()],
        signal_ids=[int(x) for x in many(form, "signal_ids") if x.isdigit()],
        logic=text(form, "logic") or "and",
        cooldown_seconds=int(cooldown) if cooldown.isdigit() else -1,
        enabled=text(form, "enabled") == "on",
    )


@router.get("/signals", response_class=HTMLResponse)
async def signals_page(request: Request, s: SessionDep, who: SignedIn) -> Response:
    return await _page(request, s, who)


@router.get("/signals/definitions/{signal_id}", response_class=HTMLResponse)
async def definition_page(
    request: Request, s: SessionDep, who: SignedIn, signal_id: int
) -> Response:
    d = await _definition(s, who, signal_id)
    return await _page(request, s, who, definition={**d, "spec": _spec_text(d)})


@router.get("/signals/pools/{pool_id}", response_class=HTMLResponse)
async def pool_page(request: Request, s: SessionDep, who: SignedIn, pool_id: int) -> Response:
    return await _page(request, s, who, pool=await _pool(s, who, pool_id))


@router.post("/signals/definitions", response_class=HTMLResponse)
async def definition_create(request: Request, s: SessionDep, who: SignedIn) -> Response:
    form = await editor_form(request, who)
    try:
        await signal_routes.create_definition(s, who.caller, _definition_body(form))
    except ApiError as err:
        shown = {"id": None, "name": text(form, "name"), "enabled": True,
                 "spec": text(form, "spec")}  # fmt: skip
        return await _page(request, s, who, definition=shown, error=refusal(err), status=422)
    return go(request, "/signals")


@router.post("/signals/definitions/{signal_id}", response_class=HTMLResponse)
async def definition_save(
    request: Request, s: SessionDep, who: SignedIn, signal_id: int
) -> Response:
    form = await editor_form(request, who)
    await _definition(s, who, signal_id)
    try:
        body = _definition_body(form)
        await signal_routes.update_definition(signal_id, s, request, who.caller, body)
    except ApiError as err:
        await s.rollback()
        shown = {"id": signal_id, "name": text(form, "name"),
                 "enabled": text(form, "enabled") == "on", "spec": text(form, "spec")}  # fmt: skip
        return await _page(request, s, who, definition=shown, error=refusal(err), status=422)
    return go(request, "/signals")


@router.post("/signals/definitions/{signal_id}/{switch}", response_class=HTMLResponse)
async def definition_switch(
    request: Request, s: SessionDep, who: SignedIn, signal_id: int, switch: str
) -> Response:
    """enable, disable or delete a definition."""
    await editor_form(request, who)
    await _definition(s, who, signal_id)
    try:
        if switch == "delete":
            await signal_routes.delete_definition(signal_id, s, who.caller)
        elif switch in ("enable", "disable"):
            body = {"enabled": switch == "enable"}
            await signal_routes.update_definition(signal_id, s, request, who.caller, body)
        else:
            raise EditorPageNotFound()
    except ApiError as err:
        await s.rollback()
        return await _page(request, s, who, error=refusal(err), status=err.status)
    return go(request, "/signals")


@router.post("/signals/pools", response_class=HTMLResponse)
async def pool_create(request: Request, s: SessionDep, who: SignedIn) -> Response:
    form = await editor_form(request, who)
    try:
        await signal_routes.create_pool(_pool_body(form), s, request, who.caller)
    except (ApiError, ValidationError) as err:
        shown = _shown_pool(form, None)
        return await _page(request, s, who, pool=shown, error=refusal(err), status=422)
    return go(request, "/signals")


def _shown_pool(form: dict[str, Any], pool_id: int | None) -> dict[str, Any]:
    return {
        "id": pool_id,
        "name": text(form, "name"),
        "symbols": many(form, "symbols"),
        "signal_ids": [int(x) for x in many(form, "signal_ids") if x.isdigit()],
        "logic": text(form, "logic"),
        "cooldown_seconds": text(form, "cooldown_seconds"),
        "enabled": text(form, "enabled") == "on",
    }


@router.post("/signals/pools/{pool_id}", response_class=HTMLResponse)
async def pool_save(request: Request, s: SessionDep, who: SignedIn, pool_id: int) -> Response:
    form = await editor_form(request, who)
    await _pool(s, who, pool_id)
    try:
        await signal_routes.update_pool(pool_id, _pool_body(form), s, request, who.caller)
    except (ApiError, ValidationError) as err:
        await s.rollback()
        shown = _shown_pool(form, pool_id)
        return await _page(request, s, who, pool=shown, error=refusal(err), status=422)
    return go(request, "/signals")


@router.post("/signals/pools/{pool_id}/evaluate", response_class=HTMLResponse)
async def pool_evaluate(request: Request, s: SessionDep, who: SignedIn, pool_id: int) -> Response:
    """Evaluate now: the fires it sent, or why it could not (a disabled pool)."""
    await editor_form(request, who)
    await _pool(s, who, pool_id)
    result, error = None, ""
    try:
        result = await signal_routes.evaluate_pool_now(pool_id, s, request, who.caller)
    except ApiError as err:
        error = refusal(err)
    return pages(request).html(request, "signal_evaluate.html", who=who, result=result, error=error)


@router.post("/signals/pools/{pool_id}/{switch}", response_class=HTMLResponse)
async def pool_switch(
    request: Request, s: SessionDep, who: SignedIn, pool_id: int, switch: str
) -> Response:
    """enable, disable or delete a pool."""
    await editor_form(request, who)
    p = await _pool(s, who, pool_id)
    try:
        if switch == "delete":
            await signal_routes.delete_pool(pool_id, s, request, who.caller)
        elif switch in ("enable", "disable"):
            keep = {k: p[k] for k in ("name", "symbols", "signal_ids", "logic", "cooldown_seconds")}
            body = signal_routes.PoolBody(**keep, enabled=switch == "enable")
            await signal_routes.update_pool(pool_id, body, s, request, who.caller)
        else:
            raise EditorPageNotFound()
    except ApiError as err:
        await s.rollback()
        return await _page(request, s, who, error=refusal(err), status=err.status)
    return go(request, "/signals")
