"""/api/programs/dev-guide: the program developer guide, generated from the code (api.dev_guide).

Its own router, included before api.routes.programs: there `/{program_id}` would take
"dev-guide" for a program id.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.dev_guide import dev_guide

router = APIRouter(prefix="/api/programs", tags=["programs"])


class DevGuideOut(BaseModel):
    guide: str  # Markdown


@router.get(
    "/dev-guide",
    response_model=DevGuideOut,
    responses={200: {"content": {"text/markdown": {}}}},
)
async def read_dev_guide(
    request: Request,
    fmt: Literal["json", "markdown"] = Query("json", alias="format"),
) -> DevGuideOut | Response:
    """How to write a program: the `data` API, `Decision`, indicators, factors, imports and
    limits, generated from the code this server runs. `?format=markdown` answers the guide
    itself as text/markdown."""
    guide = dev_guide(request.app.state.sandbox_limits)
    if fmt == "markdown":
        return Response(guide, media_type="text/markdown; charset=utf-8")
    return DevGuideOut(guide=guide)
