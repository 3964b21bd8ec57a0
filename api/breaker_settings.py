"""A trader's circuit breaker settings on update (README "Circuit breakers and the kill switch").

null turns a breaker off (unlike the other fields, where null is refused). A changed limit
re-arms the breakers: what they remembered (day start, peak) is forgotten, and the trader's
next account sync arms them from the equity of that moment. The trader's workflow is told,
so a decision that trades is followed at once by the sync that judges it.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.schemas import BREAKER_FIELDS, AccountUpdate
from api.traders import TraderControl
from db.breakers import disarm
from db.models import Account

log = logging.getLogger("hyperoru.api")
LIMITS = ("daily_loss_limit_pct", "max_drawdown_pct")


async def apply_breaker_settings(s: AsyncSession, acct: Account, body: AccountUpdate) -> bool:
    """Set the breaker fields the body gives; whether any changed."""
    given = body.model_dump(include=set(BREAKER_FIELDS), exclude_unset=True)
    if given.get("breaker_closes_positions", False) is None:
        raise ApiError(422, "VALIDATION_ERROR", "breaker_closes_positions may not be null")
    changed = {f: v for f, v in given.items() if getattr(acct, f) != v}
    for field, value in changed.items():
        setattr(acct, field, value)
    if any(f in changed for f in LIMITS):
        account_id = acct.id
        await s.run_sync(lambda sync: disarm(sync, account_id))
    return bool(changed)


async def tell_config_changed(control: TraderControl, account_id: int) -> None:
    """Best effort: the settings are stored (the sync reads them fresh every time); a workflow
    not running or not reachable now loads them when it next starts."""
    try:
        await control.config_changed(account_id)
    except ApiError as err:
        log.warning("trader %s not told of its breaker settings: %s", account_id, err.message)
