from __future__ import annotations

from temporalio import activity

from domain.contracts import Activity
from domain.risk import RiskCheckInput, RiskVerdict, evaluate


@activity.defn(name=Activity.CHECK_RISK)
async def check_risk(req: RiskCheckInput) -> RiskVerdict:
    return evaluate(req)
