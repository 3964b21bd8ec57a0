"""The program editor (`/programs`): your programs (create, edit, delete), validation with the
errors' line numbers, and a test run on a trader's live data with its decision, risk verdict and
logs. Every action calls the /api/programs route function that does it (api/web/editors.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from adapters.exchanges.client import ExchangeError
from api.deps import SessionDep
from api.errors import ApiError
from api.routes import programs as program_routes
from api.schemas import ProgramCreate, ProgramUpdate, TestRunBody, ValidateBody
from api.web.editors import (
    EditorPageNotFound,
    checked_id,
    editor_form,
    form_id,
    go,
    refusal,
    refused_in_place,
    text,
    trader_choices,
)
from api.web.login import SignedIn
from api.web.render import pages

router = APIRouter(include_in_schema=False)
STARTER = """class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning="waiting")
"""
# The compile check says "line 3" or "at line 3, column 24": the editor marks that line.
LINE = re.compile(r"\bline (\d+)")


def problems(errors: list[str]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        found = LINE.search(e)
        out.append({"text": e, "line": int(found.group(1)) if found else None})
    return out


async def _page(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    current: dict[str, Any],
    error: str = "",
    status: int = 200,
) -> Response:
    listed = await program_routes.list_programs(s, who.caller)
    page = pages(request).html(
        request, "programs.html", status=status, who=who, programs=listed, current=current,
        traders=await trader_choices(s, who.caller.id), error=error,
    )  # fmt: skip
    return refused_in_place(request, page)


async def _owned(s: SessionDep, who: SignedIn, program_id: int) -> Any:
    try:
        return await program_routes.read_program(checked_id(program_id), s, who.caller)
    except ApiError as err:
        raise EditorPageNotFound() from err


def _fields(form: dict[str, Any], program_id: int | None) -> dict[str, Any]:
    return {
        "id": program_id,
        "name": text(form, "name"),
        "description": text(form, "description"),
        "code": text(form, "code"),
        "enabled": text(form, "enabled") == "on",
    }


# Before /programs/{program_id}: that path would take these names for ids.
@router.post("/programs/validate", response_class=HTMLResponse)
async def program_validate(request: Request, who: SignedIn) -> Response:
    form = await editor_form(request, who)
    error, found = "", None
    try:
        found = await program_routes.validate(ValidateBody(code=text(form, "code")), request)
    except ValidationError as err:
        error = refusal(err)
    return pages(request).html(
        request, "program_validate.html", who=who, error=error, valid=found and found.valid,
        problems=problems(found.errors) if found else [],
    )  # fmt: skip


@router.post("/programs/test-run", response_class=HTMLResponse)
async def program_test_run(request: Request, s: SessionDep, who: SignedIn) -> Response:
    """A dry run of the editor's (unsaved) code: nothing is placed."""
    form = await editor_form(request, who)
    account_id = form_id(form, "account_id")
    result, error = None, ""
    if account_id is None:
        error = "Choose a trader to test-run with."
    else:
        try:
            body = TestRunBody(account_id=account_id, code=text(form, "code"))
            result = await program_routes.test_run(body, s, request, who.caller)
        except (ApiError, ValidationError, ExchangeError) as err:
            error = refusal(err)
    return pages(request).html(
        request, "program_test_run.html", who=who, result=result, error=error,
        problems=problems([error]) if error else [],
        decision=json.dumps(result.decision, indent=2, ensure_ascii=False)
        if result and result.decision is not None else "",
    )  # fmt: skip


@router.get("/programs", response_class=HTMLResponse)
async def programs_page(request: Request, s: SessionDep, who: SignedIn) -> Response:
    current = {"id": None, "name": "", "description": "", "code": STARTER, "enabled": True}
    return await _page(request, s, who, current)


@router.get("/programs/{program_id}", response_class=HTMLResponse)
async def program_page(request: Request, s: SessionDep, who: SignedIn, program_id: int) -> Response:
    p = await _owned(s, who, program_id)
    return await _page(request, s, who, p.model_dump())


@router.post("/programs", response_class=HTMLResponse)
async def program_create(request: Request, s: SessionDep, who: SignedIn) -> Response:
    form = await editor_form(request, who)
    fields = _fields(form, None)
    try:
        body = ProgramCreate(**{k: v for k, v in fields.items() if k != "id"})
        made = await program_routes.create_program(body, s, who.caller, request)
    except (ApiError, ValidationError) as err:
        return await _page(request, s, who, fields, refusal(err), 422)
    return go(request, f"/programs/{made.id}")


@router.post("/programs/{program_id}", response_class=HTMLResponse)
async def program_save(request: Request, s: SessionDep, who: SignedIn, program_id: int) -> Response:
    form = await editor_form(request, who)
    await _owned(s, who, program_id)
    fields = _fields(form, program_id)
    try:
        body = ProgramUpdate(**{k: v for k, v in fields.items() if k != "id"})
        await program_routes.update_program(program_id, body, s, who.caller, request)
    except (ApiError, ValidationError) as err:
        await s.rollback()
        return await _page(request, s, who, fields, refusal(err), 422)
    return go(request, f"/programs/{program_id}")


@router.post("/programs/{program_id}/delete", response_class=HTMLResponse)
async def program_delete(
    request: Request, s: SessionDep, who: SignedIn, program_id: int
) -> Response:
    await editor_form(request, who)
    p = await _owned(s, who, program_id)
    try:
        await program_routes.delete_program(program_id, s, who.caller)
    except ApiError as err:  # bound to a trader
        return await _page(request, s, who, p.model_dump(), refusal(err), 409)
    return go(request, "/programs")
