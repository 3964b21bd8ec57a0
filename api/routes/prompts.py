"""/api/prompts: prompt templates for LLM traders, and a preview of what the model would get."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from adapters.market.snapshot import market_snapshot, now_ms, snapshot_dict
from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.market import feed_for
from api.queries import get_account, get_owned
from api.schemas import (
    PromptCreate,
    PromptOut,
    PromptPreviewBody,
    PromptPreviewOut,
    PromptRename,
    PromptUpdate,
)
from db.models import Binding, PromptTemplate
from domain.prompts import parse_template, size_problem, validate_template
from strategies.prompt import build_messages, recent_trades

router = APIRouter(prefix="/api/prompts", tags=["prompts"], route_class=ExactNumbersRoute)


def _out(p: PromptTemplate) -> PromptOut:
    return PromptOut(
        id=p.id,
        name=p.name,
        content=p.content,
        variables=parse_template(p.content),
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _check(content: str) -> None:
    errors = validate_template(content)
    if errors:
        raise ApiError(422, "INVALID_TEMPLATE", "; ".join(errors))
    too_large = size_problem(content)
    if too_large:
        raise ApiError(422, "PROMPT_TOO_LARGE", f"content: {too_large}")


async def _get(s: SessionDep, prompt_id: int, owner: int) -> PromptTemplate:
    return await get_owned(s, PromptTemplate, prompt_id, owner, "prompt")


@router.get("/", response_model=list[PromptOut])
async def list_prompts(s: SessionDep, user: CurrentUser) -> list[PromptOut]:
    """List your prompt templates."""
    rows = await s.scalars(
        select(PromptTemplate).where(PromptTemplate.owner_id == user.id).order_by(PromptTemplate.id)
    )
    return [_out(p) for p in rows]


@router.post("/", status_code=201, response_model=PromptOut)
async def create_prompt(body: PromptCreate, s: SessionDep, user: CurrentUser) -> PromptOut:
    """Create a template; unknown variables are refused (write literal braces as {{ and }})."""
    _check(body.content)
    p = PromptTemplate(name=body.name, content=body.content, owner_id=user.id)
    s.add(p)
    await s.commit()
    return _out(p)


@router.post("/preview", response_model=PromptPreviewOut)
async def preview(
    body: PromptPreviewBody, s: SessionDep, request: Request, user: CurrentUser
) -> PromptPreviewOut:
    """Render a template for a trader with live data: the exact text the model would get."""
    if (body.prompt_id is None) == (body.content is None):
        raise ApiError(422, "VALIDATION_ERROR", "Give exactly one of prompt_id or content")
    if body.content is not None:
        content = body.content
    else:
        content = (await _get(s, body.prompt_id or 0, user.id)).content
    _check(content)
    acct = await get_account(s, body.account_id, user.id)
    at = now_ms()
    feed = await feed_for(request, acct.id)
    prices, klines = await market_snapshot(feed, list(acct.symbols), at)
    view = await request.app.state.exchange.view(acct.id, prices)
    snap = snapshot_dict(
        list(acct.symbols), at, prices, klines, view, {"type": "preview", **body.context}
    )
    trades = await recent_trades(s, acct.id)
    system, user_text, variables = build_messages(content, snap, trades)
    return PromptPreviewOut(system=system, user=user_text, variables=variables)


@router.get("/{prompt_id}", response_model=PromptOut)
async def read_prompt(prompt_id: int, s: SessionDep, user: CurrentUser) -> PromptOut:
    """One template."""
    return _out(await _get(s, prompt_id, user.id))


@router.put("/{prompt_id}", response_model=PromptOut)
async def update_prompt(
    prompt_id: int, body: PromptUpdate, s: SessionDep, user: CurrentUser
) -> PromptOut:
    """Change a template; bound traders use it from their next decision."""
    p = await _get(s, prompt_id, user.id)
    if body.content is not None:
        _check(body.content)
        p.content = body.content
    if body.name is not None:
        p.name = body.name
    await s.commit()
    return _out(p)


@router.patch("/{prompt_id}/name", response_model=PromptOut)
async def rename_prompt(
    prompt_id: int, body: PromptRename, s: SessionDep, user: CurrentUser
) -> PromptOut:
    """Rename a template."""
    p = await _get(s, prompt_id, user.id)
    p.name = body.name
    await s.commit()
    return _out(p)


@router.post("/{prompt_id}/copy", status_code=201, response_model=PromptOut)
async def copy_prompt(prompt_id: int, s: SessionDep, user: CurrentUser) -> PromptOut:
    """Duplicate a template as '<name> (copy)'."""
    src = await _get(s, prompt_id, user.id)
    p = PromptTemplate(name=f"{src.name} (copy)"[:200], content=src.content, owner_id=user.id)
    s.add(p)
    await s.commit()
    return _out(p)


@router.delete("/{prompt_id}")
async def delete_prompt(prompt_id: int, s: SessionDep, user: CurrentUser) -> dict[str, str]:
    """Delete a template that no trader is bound to."""
    p = await _get(s, prompt_id, user.id)
    if await s.scalar(select(Binding.id).where(Binding.prompt_id == prompt_id).limit(1)):
        raise ApiError(409, "PROMPT_IN_USE", "Prompt is bound to a trader; remove the binding")
    await s.delete(p)
    await s.commit()
    return {"status": "ok"}
