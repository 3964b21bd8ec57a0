"""Rows a backtest service test starts from: a user, a program, a backtest row and the
results an engine's report would hold (inserted directly, no engine needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from db.backtest_models import BacktestRecord
from db.backtests import Results, Sessions, create_backtest
from db.models import Program
from db.users import User
from domain.backtest import BacktestKind

HOUR = 3_600_000
START = 1_735_689_600_000  # 2025-01-01T00:00:00Z
RUN_CONFIG: dict[str, Any] = {
    "run": {
        "symbols": ["BTC"],
        "interval": "1h",
        "start_ms": START,
        "end_ms": START + 24 * HOUR,
        "initial_balance": "10000",
        "taker_fee_bps": "4.5",
        "maker_fee_bps": "1.5",
        "slippage_bps": "5",
        "funding": True,
        "intrabar": "auto",
        "seed": 0,
        "limits": {
            "max_leverage": "5",
            "max_position_notional_usd": "1000",
            "max_concurrent_positions": 3,
        },
        "allow_gaps": False,
    },
    "request": {"symbols": ["BTC"], "interval": "1h"},
}


async def owner_and_program(sessions: Sessions, email: str = "a@example.com") -> tuple[int, int]:
    async with sessions() as s, s.begin():
        user = User(email=email, username=email, password_hash="x")
        s.add(user)
        await s.flush()
        program = Program(owner_id=user.id, name="p", code="x = 1")
        s.add(program)
        await s.flush()
        return user.id, program.id


async def new_backtest(
    sessions: Sessions, owner_id: int, program_id: int, *, per_user: int = 5, total: int = 5
) -> BacktestRecord:
    return await create_backtest(
        sessions,
        max_per_user=per_user,
        max_total=total,
        owner_id=owner_id,
        kind=BacktestKind.PROGRAM.value,
        program_id=program_id,
        account_id=None,
        config=RUN_CONFIG,
        total_steps=24,
    )


def trade(seq: int, symbol: str = "BTC", net: str = "12.5", **kw: Any) -> dict[str, Any]:
    """A trade object as the engine's report writes it (spec 8.2)."""
    opened = START + seq * 2 * HOUR
    return {
        "id": seq + 1,
        "symbol": symbol,
        "side": kw.get("side", "long"),
        "opened_at": f"2025-01-01T{seq * 2:02d}:00:00+00:00",
        "closed_at": f"2025-01-01T{seq * 2 + 1:02d}:00:00+00:00",
        "opened_at_ms": opened,
        "closed_at_ms": opened + HOUR,
        "entry_price": "100",
        "exit_price": "101.25",
        "size": "10",
        "notional": "1000",
        "leverage": "2",
        "margin": "500",
        "fees": "0.9",
        "funding": "0",
        "slippage_cost": "0",
        "gross_pnl": "12.5",
        "net_pnl": net,
        "return_pct": "1.25",
        "return_on_margin_pct": "2.5",
        "exit_reason": kw.get("exit_reason", "take_profit"),
        "ambiguous_bar": False,
        "entry_decision_at": f"2025-01-01T{seq * 2:02d}:00:00+00:00",
        "duration_hours": "1",
    }


def decision(
    seq: int, status: str, code: str | None = None, op: str | None = "long"
) -> dict[str, Any]:
    return {
        "step": seq,
        "at_ms": START + (seq + 1) * HOUR,
        "operation": op,
        "symbol": "BTC" if op else None,
        "size_usd": "500" if op else None,
        "leverage": "2" if op else None,
        "status": status,
        "code": code,
        "error": "boom" if status == "failed" else None,
        "run_ms": 7,
        "reasoning": f"step {seq}",
    }


def results(n_equity: int = 24, trades: int = 2) -> Results:
    equity = [
        [START + (i + 1) * HOUR, str(Decimal(10000) + i), str(Decimal(9990) + i)]
        for i in range(n_equity)
    ]
    return Results(
        trades=[trade(i) for i in range(trades)],
        equity=equity,
        decisions=[
            decision(0, "filled"),
            decision(1, "denied", "MAX_LEVERAGE"),
            decision(2, "failed", "TIMEOUT", op=None),
        ],
        metrics={"total_pnl": "25", "total_trades": trades, "win_rate": "1", "sharpe_ratio": None},
        result_hash="ab" * 32,
    )
