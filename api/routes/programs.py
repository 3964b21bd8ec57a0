"""/api/programs: program strategies, validation and dry runs."""

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
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    TestRunBody,
    TestRunOut,
    ValidateBody,
    ValidateOut,
)
from db.factor_history import factor_histories
from db.models import Binding, Program
from domain.decision import Decision
from domain.risk import RiskCheckInput, RiskLimits, evaluate
from sandbox.compile_check import check_program
from sandbox.runner import run_program

router = APIRouter(prefix="/api/programs", tags=["programs"], route_class=ExactNumbersRoute)


def _out(p: Program) -> ProgramOut:
    return ProgramOut.model_validate(p, from_attributes=True)


async def _problems(request: Request, code: str) -> list[str]:
    """Compiled in a helper process within the sandbox's compile budget, once per version."""
    budget = request.app.state.sandbox_limits.compile_seconds
    return await check_program(code, check_imports=True, budget_seconds=budget)


async def _check_code(request: Request, code: str) -> None:
    errors = await _problems(request, code)
    if errors:
        raise ApiError(422, "INVALID_PROGRAM", "; ".join(errors))


async def _get(s: SessionDep, program_id: int, owner: int) -> Program:
    return await get_owned(s, Program, program_id, owner, "program")


@router.get("/", response_model=list[ProgramOut])
async def list_programs(s: SessionDep, user: CurrentUser) -> list[ProgramOut]:
    """List your programs."""
    rows = await s.scalars(select(Program).where(Program.owner_id == user.id).order_by(Program.id))
    return [_out(p) for p in rows]


@router.post("/", status_code=201, response_model=ProgramOut)
async def create_program(
    body: ProgramCreate, s: SessionDep, user: CurrentUser, request: Request
) -> ProgramOut:
    """Create a program (its code is validated first)."""
    await _check_code(request, body.code)
    p = Program(**body.model_dump(), owner_id=user.id)
    s.add(p)
    await s.commit()
    return _out(p)


@router.post("/validate", response_model=ValidateOut)
async def validate(body: ValidateBody, request: Request) -> ValidateOut:
    """Check a program's code without running it (syntax, Strategy, imports)."""
    errors = await _problems(request, body.code)
    return ValidateOut(valid=not errors, errors=errors)


@router.post("/test-run", response_model=TestRunOut)
async def test_run(
    body: TestRunBody, s: SessionDep, request: Request, user: CurrentUser
) -> TestRunOut:
    """Dry run for a trader on live data: returns the decision and its verdict, places nothing."""
    if (body.program_id is None) == (body.code is None):
        raise ApiError(422, "VALIDATION_ERROR", "Give exactly one of program_id or code")
    if body.code is not None:
        code = body.code
    else:
        code = (await _get(s, body.program_id or 0, user.id)).code
    await _check_code(request, code)
    acct = await get_account(s, body.account_id, user.id)
    exchange = request.app.state.exchange
    feed = await feed_for(request, acct.id)
    at = now_ms()
    prices, klines = await market_snapshot(feed, list(acct.symbols), at)
    view = await exchange.view(acct.id, prices)
    snap = snapshot_dict(
        list(acct.symbols), at, prices, klines, view, {"type": "test_run", **body.context}
    )
    # The funding factor's history as a decision now would read it (db/factor_history.py).
    source = await exchange.history_source(acct.id)
    snap.update(
        await s.run_sync(
            lambda sync: factor_histories(sync.connection(), source, list(acct.symbols), at)
        )
    )
    result = await run_program(code, snap, request.app.state.sandbox_limits)
    verdict = None
    if result.ok and result.decision is not None:
        verdict = evaluate(
            RiskCheckInput(
                decision=Decision.model_validate(result.decision),
                limits=RiskLimits(
                    max_leverage=acct.max_leverage,
                    max_position_notional_usd=acct.max_position_notional_usd,
                    max_concurrent_positions=acct.max_concurrent_positions,
                ),
                symbols=list(acct.symbols),
                positions=view.positions,
                prices=prices,
                available_usd=view.available_usd,
            )
        )
    return TestRunOut(
        status="ok" if result.ok else "failed",
        decision=result.decision,
        error_code=result.error_code,
        error=result.error,
        logs=result.logs,
        duration_ms=result.duration_ms,
        risk_verdict=verdict,
    )


@router.get("/{program_id}", response_model=ProgramOut)
async def read_program(program_id: int, s: SessionDep, user: CurrentUser) -> ProgramOut:
    """One program with its code."""
    return _out(await _get(s, program_id, user.id))


@router.put("/{program_id}", response_model=ProgramOut)
async def update_program(
    program_id: int, body: ProgramUpdate, s: SessionDep, user: CurrentUser, request: Request
) -> ProgramOut:
    """Change a program; bound traders use the new code from their next decision."""
    p = await _get(s, program_id, user.id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("code") is not None:
        await _check_code(request, changes["code"])
    for field, value in changes.items():
        if value is None:
            raise ApiError(422, "VALIDATION_ERROR", f"{field} may not be null")
        setattr(p, field, value)
    await s.commit()
    return _out(p)


@router.delete("/{program_id}", status_code=204)
async def delete_program(program_id: int, s: SessionDep, user: CurrentUser) -> None:
    """Delete a program that no trader is bound to."""
    p = await _get(s, program_id, user.id)
    if await s.scalar(select(Binding.id).where(Binding.program_id == program_id).limit(1)):
        raise ApiError(409, "PROGRAM_IN_USE", "Program is bound to a trader; remove the binding")
    await s.delete(p)
    await s.commit()
