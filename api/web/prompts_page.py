"""The prompt editor (`/prompts`): your templates (create, edit, copy, rename, delete), the
template variables with what each holds, and a preview against one of your traders' live data.
Every action calls the /api/prompts route function that does it (api/web/editors.py says why)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from adapters.exchanges.client import ExchangeError
from api.deps import SessionDep
from api.errors import ApiError
from api.routes import prompts as prompt_routes
from api.schemas import PromptCreate, PromptPreviewBody, PromptRename, PromptUpdate
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
from domain.prompts import KNOWN_VARIABLES, VARIABLE_DESCRIPTIONS

router = APIRouter(include_in_schema=False)
VARIABLES = [(name, VARIABLE_DESCRIPTIONS.get(name, "")) for name in KNOWN_VARIABLES]
STARTER = "You trade {symbols}.\n\nPrices:\n{market_prices}\n\nAccount:\n{account_balance}\n"


async def _page(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    current: dict[str, Any] | None,
    error: str = "",
    status: int = 200,
) -> Response:
    listed = await prompt_routes.list_prompts(s, who.caller)
    page = pages(request).html(
        request, "prompts.html", status=status, who=who, prompts=listed, current=current,
        variables=VARIABLES, traders=await trader_choices(s, who.caller.id), error=error,
    )  # fmt: skip
    return refused_in_place(request, page)


async def _owned(s: SessionDep, who: SignedIn, prompt_id: int) -> Any:
    try:
        return await prompt_routes.read_prompt(checked_id(prompt_id), s, who.caller)
    except ApiError as err:
        raise EditorPageNotFound() from err


# Before /prompts/{prompt_id}: that path would take "preview" for an id.
@router.post("/prompts/preview", response_class=HTMLResponse)
async def prompt_preview(request: Request, s: SessionDep, who: SignedIn) -> Response:
    """The exact text the model would get from the editor's (unsaved) content."""
    form = await editor_form(request, who)
    account_id = form_id(form, "account_id")
    result, error = None, ""
    if account_id is None:
        error = "Choose a trader to preview with."
    else:
        try:
            body = PromptPreviewBody(account_id=account_id, content=text(form, "content"))
            result = await prompt_routes.preview(body, s, request, who.caller)
        except (ApiError, ValidationError, ExchangeError) as err:
            error = refusal(err)
    return pages(request).html(request, "prompt_preview.html", who=who, result=result, error=error)


@router.get("/prompts", response_class=HTMLResponse)
async def prompts_page(request: Request, s: SessionDep, who: SignedIn) -> Response:
    return await _page(request, s, who, {"id": None, "name": "", "content": STARTER})


@router.get("/prompts/{prompt_id}", response_class=HTMLResponse)
async def prompt_page(request: Request, s: SessionDep, who: SignedIn, prompt_id: int) -> Response:
    p = await _owned(s, who, prompt_id)
    return await _page(request, s, who, p.model_dump())


@router.post("/prompts", response_class=HTMLResponse)
async def prompt_create(request: Request, s: SessionDep, who: SignedIn) -> Response:
    form = await editor_form(request, who)
    name, content = text(form, "name"), text(form, "content")
    try:
        made = await prompt_routes.create_prompt(
            PromptCreate(name=name, content=content), s, who.caller
        )
    except (ApiError, ValidationError) as err:
        current = {"id": None, "name": name, "content": content}
        return await _page(request, s, who, current, refusal(err), 422)
    return go(request, f"/prompts/{made.id}")


@router.post("/prompts/{prompt_id}", response_class=HTMLResponse)
async def prompt_save(request: Request, s: SessionDep, who: SignedIn, prompt_id: int) -> Response:
    form = await editor_form(request, who)
    await _owned(s, who, prompt_id)
    name, content = text(form, "name"), text(form, "content")
    try:
        body = PromptUpdate(name=name, content=content)
        await prompt_routes.update_prompt(prompt_id, body, s, who.caller)
    except (ApiError, ValidationError) as err:
        await s.rollback()
        current = {"id": prompt_id, "name": name, "content": content}
        return await _page(request, s, who, current, refusal(err), 422)
    return go(request, f"/prompts/{prompt_id}")


@router.post("/prompts/{prompt_id}/rename", response_class=HTMLResponse)
async def prompt_rename(request: Request, s: SessionDep, who: SignedIn, prompt_id: int) -> Response:
    form = await editor_form(request, who)
    p = await _owned(s, who, prompt_id)
    try:
        body = PromptRename(name=text(form, "name"))
        await prompt_routes.rename_prompt(prompt_id, body, s, who.caller)
    except (ApiError, ValidationError) as err:
        await s.rollback()
        return await _page(request, s, who, p.model_dump(), refusal(err), 422)
    return go(request, f"/prompts/{prompt_id}")


@router.post("/prompts/{prompt_id}/copy", response_class=HTMLResponse)
async def prompt_copy(request: Request, s: SessionDep, who: SignedIn, prompt_id: int) -> Response:
    await editor_form(request, who)
    await _owned(s, who, prompt_id)
    made = await prompt_routes.copy_prompt(prompt_id, s, who.caller)
    return go(request, f"/prompts/{made.id}")


@router.post("/prompts/{prompt_id}/delete", response_class=HTMLResponse)
async def prompt_delete(request: Request, s: SessionDep, who: SignedIn, prompt_id: int) -> Response:
    await editor_form(request, who)
    p = await _owned(s, who, prompt_id)
    try:
        await prompt_routes.delete_prompt(prompt_id, s, who.caller)
    except ApiError as err:  # bound to a trader
        return await _page(request, s, who, p.model_dump(), refusal(err), 409)
    return go(request, "/prompts")
