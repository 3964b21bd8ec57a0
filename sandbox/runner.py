"""Run an untrusted user program ("program strategy") in an isolated child process.

Public API: SandboxLimits, SandboxResult, run_program(), validate_program().
User code never runs in this process; everything the child reports is treated as untrusted and
re-validated here (the decision against domain.decision.Decision).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import orjson
from pydantic import ValidationError

from domain.decision import Decision
from sandbox import protocol as p
from sandbox.compile_check import CheckerUnavailableError, check_program
from sandbox.determinism import BacktestContext
from sandbox.process import ChildRun, run_child
from sandbox.result_channel import read_channel
from sandbox.validate import validate_program
from sandbox.zygote_client import run_forked

__all__ = [
    "BacktestContext",
    "SandboxLimits",
    "SandboxResult",
    "run_program",
    "validate_program",
]

# fork: one pre-warmed parent per worker forks a child per run (a few ms). spawn: a fresh
# interpreter per run (~0.1 s of CPU), the cold-start fallback.
SANDBOX_MODES = ("fork", "spawn")
MODE_ENV = "HYPERORU_SANDBOX_MODE"
# Signals that mean the program crashed the interpreter (e.g. unbounded C recursion).
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}

logger = logging.getLogger(__name__)

_SIZE_QUANTUM = Decimal("1e-10")  # domain Decision.size_usd allows 10 decimal places
_degraded_warned = False


@dataclass(frozen=True)
class SandboxLimits:
    wall_seconds: float = 5.0  # wall clock from process start; the parent kills the group
    cpu_seconds: int = 3  # RLIMIT_CPU, counts interpreter start-up (~0.2 s) too
    memory_mb: int = 512  # RLIMIT_AS; python + numpy + talib take ~150 MB of address space
    max_output_bytes: int = 256_000  # result line and total printed chars; more => too large
    compile_seconds: float = 2.0  # checking (parsing, compiling) the program, in a helper

    def __post_init__(self) -> None:
        if self.wall_seconds <= 0 or self.cpu_seconds < 1:
            raise ValueError("wall_seconds must be > 0 and cpu_seconds >= 1")
        if self.compile_seconds <= 0:
            raise ValueError("compile_seconds must be > 0")
        if self.memory_mb < 256:
            raise ValueError("memory_mb must be >= 256 (numpy and talib alone need ~150 MB)")
        if self.max_output_bytes < 16_000:
            raise ValueError("max_output_bytes must be >= 16000")


@dataclass(frozen=True)
class SandboxResult:
    ok: bool
    decision: dict | None  # validated domain Decision, JSON-able (decimals as strings)
    error_code: str | None  # one of sandbox.protocol.ERROR_CODES
    error: str | None  # human readable; the program's own traceback for PROGRAM_ERROR
    logs: str  # what the program printed, truncated
    duration_ms: int


def default_mode() -> str:
    """The mode from HYPERORU_SANDBOX_MODE (the same variable settings.Settings reads)."""
    return os.environ.get(MODE_ENV, "fork").strip().lower() or "fork"


async def run_program(
    code: str,
    snapshot: dict,
    limits: SandboxLimits = SandboxLimits(),
    *,
    mode: str | None = None,
    snapshot_json: bytes | None = None,
    backtest: BacktestContext | None = None,
) -> SandboxResult:
    """Run `Strategy().should_trade(data)` of `code` in a sandbox. Never raises for anything the
    program does: every outcome is a SandboxResult. `mode` is "fork" or "spawn" (default: the
    HYPERORU_SANDBOX_MODE environment variable, else fork); another value is a ValueError.
    `snapshot_json`, if given, is `snapshot` already encoded (sent as is). `backtest`, if given,
    makes the run deterministic: seeded randomness, the clock at the simulated time, hash seed 0
    (sandbox/determinism.py); live runs pass none."""
    mode = mode or default_mode()
    if mode not in SANDBOX_MODES:
        raise ValueError(f"sandbox mode must be one of {', '.join(SANDBOX_MODES)}, not {mode!r}")
    started = time.monotonic()
    try:  # compiled once per program version, off this process (sandbox/compile_check.py)
        problems = await check_program(code, budget_seconds=limits.compile_seconds)
    except CheckerUnavailableError as exc:
        return _failure(p.SANDBOX_FAILURE, str(exc), started)
    if problems:
        return _failure(p.INVALID_PROGRAM, "\n".join(problems), started)
    try:
        data = snapshot if snapshot_json is None else orjson.Fragment(snapshot_json)
        message: dict[str, Any] = {"code": code, "snapshot": data, "limits": asdict(limits)}
        if backtest is not None:
            message["backtest"] = backtest.as_json()
        request = _encode(message)
    except (TypeError, ValueError) as exc:
        return _failure(p.SANDBOX_FAILURE, f"snapshot is not JSON-serialisable: {exc}", started)
    try:
        kind = "live" if backtest is None else "backtest"  # backtests: hash seed 0
        start_run = run_forked if mode == "fork" else run_child
        run = await start_run(request, limits.wall_seconds, limits.max_output_bytes, kind)
    except Exception as exc:  # e.g. fork failure (EAGAIN/ENOMEM): a platform fault
        logger.exception("could not run the program sandbox")
        return _failure(p.SANDBOX_FAILURE, f"could not start the sandbox: {exc!r}", started)
    return _interpret(run, limits, started)


def _encode(request: dict[str, Any]) -> bytes:
    # orjson: the snapshot is ~75 KB of numbers, ~10x faster than the stdlib encoder; what it
    # refuses (integers past 64 bits) takes the stdlib path.
    try:
        return orjson.dumps(request, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(request).encode()


def _interpret(run: ChildRun, limits: SandboxLimits, started: float) -> SandboxResult:
    """What a finished child run means (also a backtest session's steps: the same codes)."""
    if run.harmed_sandbox:
        msg = (
            "the sandbox stopped twice while this program ran (it died, or was stopped, slowed "
            "or limited): the program is taken to be the cause"
        )
        return _failure(p.PROGRAM_ERROR, msg, started)
    if run.timed_out:
        msg = f"program exceeded the wall-clock limit of {limits.wall_seconds:g} s"
        return _failure(p.TIMEOUT, msg, started)
    if run.output_overflow:
        msg = f"program output exceeded {limits.max_output_bytes} bytes"
        return _failure(p.OUTPUT_TOO_LARGE, msg, started)
    channel = read_channel(run.stdout)
    if channel.program_started:
        _warn_if_degraded(channel.isolation)
    if channel.result is not None:
        return _from_payload(channel.result, started, channel.program_started)
    rc = run.returncode
    # SIGXCPU at the soft RLIMIT_CPU, SIGKILL at the hard one. (We only SIGKILL on timeout or
    # overflow, both handled above; the OOM killer is unlikely with RLIMIT_AS in place.)
    if rc in (-signal.SIGXCPU, -signal.SIGKILL):
        msg = f"program exceeded the CPU limit of {limits.cpu_seconds} s"
        return _failure(p.CPU_LIMIT, msg, started)
    stderr = p.clean_text(run.stderr.decode("utf-8", "replace"), len(run.stderr))
    if "MemoryError" in stderr:
        msg = f"program exceeded the memory limit ({limits.memory_mb} MB)"
        return _failure(p.MEMORY_LIMIT, msg, started)
    if rc is not None and -rc in _CRASH_SIGNALS:
        msg = f"the program crashed the interpreter ({_describe_exit(rc)})"
        return _failure(p.PROGRAM_ERROR, msg, started)
    if channel.program_started:
        # Its own doing (e.g. os._exit, or garbage written on the result channel): a failure of
        # this program, never SANDBOX_FAILURE, which means a fault of the platform.
        what = "wrote an unreadable result" if channel.wrote else "ended without a result"
        logger.info("program %s (%s): %r", what, _describe_exit(rc), stderr[-500:])
        return _failure(p.PROGRAM_ERROR, f"the program {what} ({_describe_exit(rc)})", started)
    logger.warning("sandbox child exited %s without a result: %s", rc, stderr[-2000:])
    return _failure(
        p.SANDBOX_FAILURE,
        f"sandbox exited with {_describe_exit(rc)} and no result\n{stderr[-2000:]}".rstrip(),
        started,
    )


def _from_payload(payload: dict[str, Any], started: float, program_started: bool) -> SandboxResult:
    logs = payload.get("logs")
    logs = logs if isinstance(logs, str) else ""
    if payload["ok"]:
        decision, problem = validate_decision(payload.get("decision"))
        if decision is None:
            return _failure(p.INVALID_DECISION, problem, started, logs)
        return SandboxResult(True, decision, None, None, _clean_logs(logs), _elapsed_ms(started))
    code = payload.get("error_code")
    allowed = p.RUN_ERROR_CODES if program_started else p.CHILD_ERROR_CODES
    if not (isinstance(code, str) and code in allowed):
        if program_started:  # only the program writes such a line once it has started
            claim = p.clean_text(repr(code), 100)
            msg = f"the program wrote a result of its own on the result channel (claiming {claim})"
            return _failure(p.PROGRAM_ERROR, msg, started, logs)
        return _failure(p.SANDBOX_FAILURE, f"unexpected error code {code!r:.100}", started, logs)
    error = payload.get("error")
    return _failure(code, error if isinstance(error, str) else code, started, logs)


def validate_decision(raw: object) -> tuple[dict | None, str]:
    """Validate the child's decision dict; returns (decision JSON dict, "") or (None, problem).

    size_usd with more than 10 decimal places (float arithmetic like 1000 * 0.1) is rounded
    down to 10 places instead of being rejected.
    """
    if not isinstance(raw, dict):
        return None, "sandbox returned no decision"
    fields = {
        p.clean_text(str(k), 100): p.clean_text(v, len(v)) if isinstance(v, str) else v
        for k, v in raw.items()
        if v is not None
    }
    size = fields.get("size_usd")
    if isinstance(size, str):
        try:
            amount = Decimal(size)
            if amount.is_finite() and amount.as_tuple().exponent < -10:  # type: ignore[operator]
                fields["size_usd"] = str(amount.quantize(_SIZE_QUANTUM, rounding=ROUND_DOWN))
        except (InvalidOperation, ValueError):
            pass  # pydantic reports it
    try:
        model = Decision.model_validate(fields)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(x) for x in err['loc']) or 'decision'}: {err['msg']}"
            for err in exc.errors()
        ]
        return None, "invalid decision: " + "; ".join(problems)
    return model.model_dump(mode="json"), ""


def _warn_if_degraded(isolation: object) -> None:
    global _degraded_warned
    if _degraded_warned or not isinstance(isolation, dict):
        return
    if not (isolation.get("namespaces") and isolation.get("uid_dropped")):
        _degraded_warned = True
        logger.warning(
            "program sandbox runs with reduced isolation (rlimits + seccomp only): %s",
            isolation.get("notes") or isolation,
        )


def _describe_exit(rc: int | None) -> str:
    if rc is None:
        return "unknown status"
    if rc < 0:
        try:
            return f"signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failure(code: str, error: str, started: float, logs: str = "") -> SandboxResult:
    error = p.clean_text(error, p.ERROR_KEEP_CHARS + 100)
    return SandboxResult(False, None, code, error, _clean_logs(logs), _elapsed_ms(started))


def _clean_logs(logs: str) -> str:
    # Bad text is the program's problem: replaced here, where it enters, so that storing or
    # sending a result can never fail on it (a 500, or a retried decision).
    return p.clean_text(logs, p.LOG_KEEP_CHARS + 100)


# What a backtest session's steps share with runs (sandbox/backtest_session.py).
interpret, failure = _interpret, _failure
