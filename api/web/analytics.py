"""The analytics page (`/analytics`): the summary and the by-* tables of GET /api/analytics/...,
AI attribution and program analytics (api/routes/analytics_extras.py), for the days, trader
and source chosen in its filter form; each number is what those routes answer (the same
functions, called with the same filters)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.errors import ApiError
from api.queries import MAX_ID, listed_accounts
from api.routes import analytics as routes
from api.routes import analytics_extras as extras
from api.web.figures import html
from api.web.login import SignedIn
from api.web.traders import PageNotFound

router = APIRouter(include_in_schema=False)
DAY_CHOICES = (1, 7, 30, 90, 365)
BREAKDOWNS = (
    ("symbol", "Symbol", routes.by_symbol),
    ("operation", "Direction", routes.by_operation),
    ("trigger-type", "Trigger", routes.by_trigger_type),
    ("exit-reason", "Exit reason", routes.by_exit_reason),
)


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The flat fields of a list of lines (nested ones are shown on their own)."""
    out: list[str] = []
    for row in rows:
        out += [k for k, v in row.items() if k not in out and not isinstance(v, dict | list)]
    return out


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request,
    s: SessionDep,
    who: SignedIn,
    days: Annotated[int, Query(ge=1, le=routes.MAX_DAYS)] = 30,
    account_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    source: routes.Source = routes.Source.ALL,
    period: routes.Period = routes.Period.DAY,
) -> Response:
    user = who.caller
    try:
        # The analytics routes' own filter dependency: the same traders, period and trips.
        scope = await routes._filtered(s, user, days, account_id, source)
    except ApiError as err:  # another user's trader: as a missing one
        raise PageNotFound() from err
    summary = await routes.summary(scope, s)
    tables = [{"key": "account", "title": "Trader", "lines": await routes.by_account(scope, s)}]
    for key, title, route in BREAKDOWNS:
        tables.append({"key": key, "title": title, "lines": await route(scope)})
    by_strategy = await routes.by_strategy(scope, s, user)
    tables.insert(1, {"key": "strategy", "title": "Strategy", "lines": by_strategy})
    by_period = await routes.by_period(scope, period)
    tables.append({"key": "period", "title": f"By {period.value}", "lines": by_period})
    attribution = await extras.ai_attribution(scope, s, user, request, 4, None)
    programs = await extras.programs(scope, s, user, None)
    traders = await listed_accounts(s, user.id)
    return html(
        request, "analytics.html", who=who, summary=summary, tables=tables,
        attribution=attribution, programs=programs, columns=columns,
        traders=[{"id": a.id, "name": a.name} for a in traders],
        filters={"days": days, "account_id": account_id, "source": source.value,
                 "period": period.value},
        day_choices=DAY_CHOICES, sources=[x.value for x in routes.Source],
        periods=[x.value for x in routes.Period],
    )  # fmt: skip
