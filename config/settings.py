"""Runtime configuration from HYPERORU_* environment variables (documented in .env.example)."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vault.keys import MasterKey

TASK_QUEUE = "hyperoru-traders"
ENV_PREFIX = "HYPERORU_"
# sysexits' EX_CONFIG: the process refused its configuration; restarting it will not help.
EXIT_CONFIG = 78
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
MARKET_SOURCES = ("simulated", "hyperliquid", "binance")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Path(".data")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    # When set, use this Temporal cluster and start no dev server.
    temporal_address: str | None = None
    # That cluster's Web UI (e.g. "https://temporal.example.com"): the web app links runs there.
    temporal_ui_url: str | None = Field(default=None, max_length=500)
    temporal_namespace: str = "default"
    task_queue: str = TASK_QUEUE
    # The embedded dev server's SQLite store runs in WAL mode. "normal" syncs to disk at
    # checkpoints: a crash of any process loses nothing, an OS crash or power loss can roll back
    # the last commits (a workflow then redoes its last task; every step is idempotent by id).
    # "full" syncs every commit, at about a quarter of the signal throughput.
    temporal_sqlite_synchronous: Literal["normal", "full"] = "normal"
    database_url: str | None = None
    # Paper exchange and simulated market feed.
    paper_slippage_bps: str = "5"
    paper_taker_fee_bps: str = "4.5"
    paper_maker_fee_bps: str = "1.5"  # a resting limit order's fill
    market_seed: int = 7
    # Where prices and candles come from: simulated (default), or live public data from
    # hyperliquid or binance (USD-M futures) when the network allows; base URL optional.
    market_source: str = "simulated"
    market_base_url: str | None = None
    # Master key for secrets (LLM and exchange keys): base64url 32 bytes, several comma-separated
    # during a rotation (primary first). Or a file holding them. Default: generated on first run
    # at <data dir>/master.key.
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # Encrypts Temporal payloads (prompts, reasoning, contexts) when set: base64url 32-byte
    # keys, comma separated, the first encrypts (`python -m cli generate-key`).
    payload_encryption_key: SecretStr | None = None
    # Every LLM call times out after this many seconds (the activity then retries).
    llm_timeout_seconds: float = 60.0
    # A trader's llm_base_url may point at a loopback or private address (e.g. Ollama on
    # localhost) only when this is true; link-local and cloud metadata addresses never.
    # Checked by the API when saved and by the worker on every connection.
    llm_allow_private_hosts: bool = False
    # Program sandbox limits.
    sandbox_wall_seconds: float = 5.0
    sandbox_cpu_seconds: int = 3
    sandbox_memory_mb: int = 512
    # Checking a program (parse and compile, in a helper process) may take this long; past it
    # the program is refused as too complex (422 INVALID_PROGRAM, or the run's INVALID_PROGRAM).
    sandbox_compile_seconds: float = Field(default=2.0, gt=0, le=60)
    # fork: a pre-warmed sandbox parent per worker forks each run (a few ms); spawn: a fresh
    # interpreter per run (~0.1 s of CPU), the cold-start fallback.
    sandbox_mode: Literal["fork", "spawn"] = "fork"
    # A trader continues-as-new once its history passes this many events
    # (Temporal suggests 4,096 and terminates at 51,200).
    continue_as_new_events: int = Field(default=2000, ge=50)
    # ... and once it has run steps and then stayed idle this long (0: never). Its worker keeps a
    # record of every step a cached run ran (~50 KB a decision): idle traders shed it this way.
    idle_continue_as_new_seconds: int = Field(default=60, ge=0)
    # Live exchange calls give up after this many seconds (a lost order answer is then `unknown`).
    exchange_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # An `unknown` order is looked up for at most this long before the trader halts
    # (see domain/profiles.py, RESOLVE).
    order_resolve_seconds: float = Field(default=180.0, gt=0, le=540)
    # Equity history: every trader that is active or holds positions gets a point this often
    # (besides one on every fill), and old points are thinned this often; 0 turns a job off.
    equity_sample_seconds: int = Field(default=60, ge=0, le=60)
    equity_thin_seconds: int = Field(default=3600, ge=0, le=86400)
    # Notifications (README "Notifications"): the notifier reads new events this often (0: off),
    # each delivery's request times out after the timeout, and a failed one is retried with
    # backoff from the initial to the maximum wait, this many attempts in all. The daily
    # summary is sent at this UTC time ("HH:MM"; empty: off).
    notify_poll_seconds: int = Field(default=5, ge=0, le=3600)
    notify_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    notify_retry_initial_seconds: float = Field(default=1.0, gt=0, le=3600)
    notify_retry_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    notify_max_attempts: int = Field(default=8, ge=1, le=100)
    notify_daily_summary_time: str = "00:05"
    # A channel's webhook URL or Telegram base URL may be a loopback or private address only
    # when this is true (as HYPERORU_LLM_ALLOW_PRIVATE_HOSTS for LLM base URLs).
    notify_allow_private_hosts: bool = False
    worker_max_concurrent_activities: int = 64
    worker_max_cached_workflows: int = 2000
    # A trader's run leaves the worker's cache once it has not run for this many seconds (0:
    # never; a run that has only waited, e.g. after idle continue-as-new, goes after 15 s); its
    # next signal or timer replays it from history. Above the 60 s position sync on purpose: a
    # trader with a position open works every minute and stays cached. With 1,000 idle traders
    # this is ~60 MB of worker memory. See runtime/worker_cache.py.
    worker_evict_idle_seconds: float = Field(default=120.0, ge=0)
    # Workflow tasks in flight: a trader's task stays open while its decision's local activities
    # run, so this bounds the decisions in progress at once (the SDK default is 100).
    worker_max_concurrent_workflow_tasks: int = Field(default=100, ge=2)
    worker_max_concurrent_local_activities: int = Field(default=100, ge=1)
    worker_workflow_task_polls: int = Field(default=5, ge=2)
    # strict: Temporal's sandbox re-imports workflows/ for every trader (~165 KB each) and stops
    # clock, random and I/O calls in it; shared: workflows/ imported once and passed through,
    # which also passes it through the checks (only the sandbox's cost is left);
    # off (default): no sandbox, ~14% more decisions/s. Workflow purity is enforced before
    # code ships instead: the test suite's workers and the replay gate run strict, and
    # tests/unit/test_workflow_purity.py checks what workflows/ imports and calls.
    worker_workflow_sandbox: Literal["strict", "shared", "off"] = "off"
    # The live stream's events (db/events.py) are kept this long; the worker trims older ones
    # (runtime/event_retention.py). A client resuming from an older event gets a fresh snapshot.
    events_retention_hours: float = Field(default=24.0, gt=0, le=24 * 366)
    log_level: str = "INFO"
    # Users and API abuse. Session tokens last this many days; anyone may register unless off.
    session_days: int = Field(default=180, ge=1, le=3650)
    allow_registration: bool = True
    # Requests larger than this get 413 before any route reads them.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Market data history (README "Market data history"): POST /api/klines/import takes a body
    # up to this size (instead of max_body_bytes) holding at most this many candles.
    klines_import_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    klines_import_max_rows: int = Field(default=200_000, ge=1)
    # Backfills fetch from each venue's public endpoints: these base URLs when set (a proxy, an
    # emulator), else the venue's own for the task's environment. At most one page request per
    # this many seconds per worker and venue (polite to the venue's rate limit).
    backfill_hyperliquid_url: str | None = None
    backfill_binance_url: str | None = None
    backfill_page_interval_seconds: float = Field(default=0.25, ge=0, le=60)
    # Program backtests (README "Backtests"): their own queue and worker; at most this many run
    # at once per worker, per user and per instance (more: 429 BACKTEST_BUSY). POST waits up to
    # backtest_sync_wait_seconds for the result (201), then answers 202 with the progress.
    backtest_max_concurrent: int = Field(default=1, ge=1, le=64)
    backtest_max_running_per_user: int = Field(default=1, ge=1)
    backtest_max_running: int = Field(default=2, ge=1)
    backtest_sync_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    # A run's activity heartbeats at every progress report (at least once a second between
    # decisions); a worker silent this long is taken for dead and the run resumes elsewhere
    # from its last checkpoint. Generous: one decision may take the sandbox's wall limit.
    backtest_heartbeat_timeout_seconds: float = Field(default=30.0, ge=1, le=3600)
    # The market-history refresh (README "Program strategies"): every this many seconds the
    # last day's funding settlements of the traders' venue symbols are stored and the
    # open-interest samples older than the retention deleted. 0 turns it off.
    market_refresh_seconds: int = Field(default=3600, ge=0)
    open_interest_retention_days: int = Field(default=7, ge=1, le=3650)
    # ... and 408 (connection closed) when their body has not arrived in full after this long.
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Token bucket per valid session token (per client IP without one, or with an invalid one):
    # a sustained rate and a burst. Generous on purpose; 0 turns the limit off.
    rate_limit_per_second: float = Field(default=100.0, ge=0)
    rate_limit_burst: int = Field(default=3000, ge=1)
    # The live stream (`GET /ws`, README "Live stream"). The web app's session cookie (holding a
    # session token) is accepted on an upgrade only from the API's own origin.
    session_cookie: str = Field(default="hyperoru_session", min_length=1, max_length=100)
    # How often the API reads new events from the database (each process polls once for all
    # its sockets, and only while it has some).
    ws_poll_seconds: float = Field(default=0.15, gt=0, le=5)
    # Messages waiting for one client; a client whose queue stays full this long is dropped
    # (it then reconnects and resumes from its last event id).
    ws_queue_size: int = Field(default=256, ge=8, le=100_000)
    ws_slow_client_seconds: float = Field(default=10.0, gt=0, le=600)
    # A client message larger than this closes the socket (1009).
    ws_max_message_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    ws_max_connections: int = Field(default=1000, ge=1)
    # Open sockets' session tokens are re-checked this often: a revoked one closes its sockets.
    ws_auth_recheck_seconds: float = Field(default=2.0, gt=0, le=60)

    # Checked here, so a wrong value stops a process at start with one line naming it
    # (load_settings) instead of failing later, deep in a library, with a traceback.
    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        if v.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return v.strip().upper()

    @field_validator("market_source")
    @classmethod
    def _market_source(cls, v: str) -> str:
        if v.strip().lower() not in MARKET_SOURCES:
            raise ValueError(f"must be one of {', '.join(MARKET_SOURCES)}")
        return v.strip().lower()

    @field_validator("notify_daily_summary_time")
    @classmethod
    def _summary_time(cls, v: str) -> str:
        v = v.strip()
        if v and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", v):
            raise ValueError("must be HH:MM (UTC, 00:00 to 23:59), or empty for off")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str | None) -> str | None:
        if v:
            async_url(v)  # the error names only the scheme: the URL may hold a password
        return v

    @field_validator("master_key", "payload_encryption_key")
    @classmethod
    def _keys(cls, v: SecretStr | None) -> SecretStr | None:
        # The format only (vault.keys checks the rest at start); errors never echo a key.
        for n, part in enumerate((v.get_secret_value() if v else "").split(","), start=1):
            if part.strip():
                MasterKey.from_text(part, source=f"entry {n}")
        return v

    @property
    def pools_task_queue(self) -> str:
        """Signal-pool workflows and their activities: a queue of their own, so a pool's
        workflow tasks never wait behind a backlog of trader decisions it just fanned out."""
        return f"{self.task_queue}-pools"

    @property
    def notify_task_queue(self) -> str:
        """The notifier's workflows and activities: a queue of their own, so a slow receiver
        never takes a slot a trader's decision needs."""
        return f"{self.task_queue}-notify"

    @property
    def backfill_task_queue(self) -> str:
        """Backfill workflows and their activities: their own queue, so fetching history from a
        venue never takes a slot a live trader's decision needs."""
        return f"{self.task_queue}-backfill"

    @property
    def backtest_task_queue(self) -> str:
        """Backtests (program and prompt): their own queue and worker with a few slots, so a
        long run never takes a slot, a poller or a sandbox run a live trader needs (spec 8.1 P5)."""
        return f"{self.task_queue}-backtest"

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_database_url(self) -> str:
        """Async SQLAlchemy URL (sqlite+aiosqlite or postgresql+psycopg)."""
        return async_url(self.database_url or f"sqlite:///{self.data_dir.resolve()}/hyperoru.db")


def async_url(url: str) -> str:
    for prefix, repl in (
        ("postgresql+psycopg://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return repl + url[len(prefix) :]
    raise ValueError(
        f"unsupported database URL scheme {url.split(':', 1)[0]!r} "
        "(postgresql://... or sqlite:///...)"
    )


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic)."""
    return async_url(url).replace("sqlite+aiosqlite://", "sqlite://")


# Values never shown in an error: they may hold a key or a password.
_NOT_ECHOED = {"master_key", "payload_encryption_key", "database_url"}


def _problem(err: Any) -> str:
    kind, msg = err["type"], str(err["msg"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false (or 1/0, yes/no, on/off)"
    for prefix in ("Value error, ", "Input should be "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
            return msg if prefix == "Value error, " else f"must be {msg}"
    return msg


def describe(error: ValidationError) -> str:
    """One line per invalid setting: the variable, its value (unless secret), what is allowed."""
    lines = []
    for err in error.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        shown = ""
        if field not in _NOT_ECHOED and isinstance(err.get("input"), str):
            shown = "=" + repr(err["input"][:60])
        lines.append(f"invalid setting {ENV_PREFIX}{field.upper()}{shown}: {_problem(err)}")
    return "\n".join(lines)


def config_exit(message: str) -> NoReturn:
    """Stop a process whose configuration is wrong: the message, no traceback, EXIT_CONFIG."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIG)


def load_settings() -> Settings:
    """The settings from the environment (and .env); an invalid one ends the process."""
    try:
        return Settings()
    except ValidationError as err:
        config_exit(describe(err))


def ensure_data_dir(settings: Settings) -> None:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        config_exit(
            f"invalid setting {ENV_PREFIX}DATA_DIR={str(settings.data_dir)!r}: cannot create it "
            f"({err.strerror or type(err).__name__})"
        )


@lru_cache
def get_settings() -> Settings:
    return load_settings()
