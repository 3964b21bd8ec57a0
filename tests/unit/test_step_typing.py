"""Workflows call activities through typed steps (workflows/steps.py): the wrong input model, or
the wrong result expected, fails the type check that `make lint` runs, not a trader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RIGHT = """
from domain.contracts import LoadConfigInput, PoolConfig, PoolConfigInput, TraderConfig
from workflows import steps

async def f() -> TraderConfig:
    return await steps.run(steps.LOAD_CONFIG, LoadConfigInput(account_id=1))
"""
WRONG_INPUT = RIGHT.replace("LoadConfigInput(account_id=1)", "PoolConfigInput(pool_id=1)")
WRONG_RESULT = RIGHT.replace("-> TraderConfig", "-> PoolConfig")


def _mypy(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_a_step_called_right_type_checks() -> None:
    result = _mypy(RIGHT)
    assert result.returncode == 0, result.stdout


def test_the_wrong_input_model_is_a_type_error() -> None:
    result = _mypy(WRONG_INPUT)
    # mypy cannot pick an input type that is both LoadConfigInput and PoolConfigInput
    assert result.returncode == 1 and '"In" of "run"' in result.stdout, result.stdout


def test_the_wrong_result_type_is_a_type_error() -> None:
    result = _mypy(WRONG_RESULT)
    assert result.returncode == 1 and "Step[LoadConfigInput, TraderConfig]" in result.stdout
    assert "PoolConfig]" in result.stdout, result.stdout
