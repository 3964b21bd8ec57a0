"""Request and response bodies. Strict: unknown fields are refused, money is Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from api.context_limits import Context
from api.money import MoneyOut
from domain.orders import OrderOutcome
from domain.risk import PositionView, RiskVerdict
from domain.trader import TraderStatus
from domain.vocabulary import AccountType, DecisionStatus, Exchange, ExchangeEnvironment

DEFAULT_SYMBOLS = ["BTC", "ETH", "SOL"]


def as_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Output timestamps always carry their zone (RFC 3339 date-time, as the schema says).
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


def storable(value: Any) -> Any:
    """Text both databases can store: no NUL characters, no lone UTF-16 surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid Unicode") from None
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    return value


class Strict(BaseModel):
    """Request bodies: unknown fields refused, every string storable as it is."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


def api_key_text(value: str | None) -> str | None:
    """An API key goes into an HTTP header: visible ASCII only (no spaces, line breaks, control
    or non-ASCII characters), refused here rather than failing on every call later."""
    if value and not all("!" <= ch <= "~" for ch in value):
        raise ValueError(
            "must be visible ASCII characters only, without spaces, tabs, line breaks or "
            "non-ASCII characters (was it pasted with a trailing newline?)"
        )
    return value


# Money columns are Numeric(30, 10): a value with more digits than that is refused, not rounded.
Money = Annotated[Decimal, Field(max_digits=30, decimal_places=10)]
# A trader starts with at least 1 USD (less rounds to nothing) and at most a billion.
MIN_CAPITAL, MAX_CAPITAL = Decimal(1), Decimal(1_000_000_000)
# Names are trimmed; one of only whitespace is as empty as "".
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LlmModel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A circuit breaker's limit, in % of equity (README "Circuit breakers and the kill switch").
BreakerPct = Annotated[Decimal, Field(gt=0, lt=100, max_digits=12, decimal_places=6)]
# The circuit breakers' settings, handled apart from the other fields on update (null: off).
BREAKER_FIELDS = ("daily_loss_limit_pct", "max_drawdown_pct", "breaker_closes_positions")


class AccountCreate(Strict):
    name: Name
    description: str = Field(default="", max_length=2000)
    account_type: AccountType = AccountType.PROGRAM
    exchange: Exchange = Exchange.PAPER
    initial_capital: Money = Field(default=Decimal("10000"), ge=MIN_CAPITAL, le=MAX_CAPITAL)
    max_leverage: Money = Field(default=Decimal("5"), ge=1, le=100)
    max_position_notional_usd: Money = Field(default=Decimal("1000"), gt=0, le=Decimal("1e12"))
    max_concurrent_positions: int = Field(default=3, ge=1, le=100)
    symbols: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SYMBOLS), min_length=1, max_length=50
    )
    show_on_dashboard: StrictBool = True
    trading_enabled: StrictBool = False
    daily_loss_limit_pct: BreakerPct | None = None
    max_drawdown_pct: BreakerPct | None = None
    breaker_closes_positions: StrictBool = False
    llm_provider: str | None = Field(default=None, max_length=32)
    llm_model: LlmModel | None = None
    llm_api_key: str | None = Field(default=None, min_length=1, max_length=1000)
    llm_base_url: str | None = Field(default=None, max_length=500)

    _llm_api_key = field_validator("llm_api_key")(lambda cls, v: api_key_text(v))

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        out = []
        for s in v:
            s = s.strip().upper()
            if not s or len(s) > 32 or not s.replace("-", "").isalnum():
                raise ValueError(f"invalid symbol {s!r}")
            if s not in out:
                out.append(s)
        return out


class AccountUpdate(Strict):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    initial_capital: Money | None = Field(default=None, ge=MIN_CAPITAL, le=MAX_CAPITAL)
    max_leverage: Money | None = Field(default=None, ge=1, le=100)
    max_position_notional_usd: Money | None = Field(default=None, gt=0, le=Decimal("1e12"))
    max_concurrent_positions: int | None = Field(default=None, ge=1, le=100)
    symbols: list[str] | None = Field(default=None, min_length=1, max_length=50)
    show_on_dashboard: StrictBool | None = None
    trading_enabled: StrictBool | None = None
    # null turns that breaker off.
    daily_loss_limit_pct: BreakerPct | None = None
    max_drawdown_pct: BreakerPct | None = None
    breaker_closes_positions: StrictBool | None = None
    llm_provider: str | None = Field(default=None, max_length=32)
    llm_model: LlmModel | None = None
    # null or "" removes the stored key (e.g. to switch to a provider that needs none).
    llm_api_key: str | None = Field(default=None, max_length=1000)
    llm_base_url: str | None = Field(default=None, max_length=500)

    _llm_api_key = field_validator("llm_api_key")(lambda cls, v: api_key_text(v))
    _symbols = field_validator("symbols")(lambda cls, v: AccountCreate._symbols(v) if v else v)


class AccountOut(BaseModel):
    id: int
    account_id: int
    name: str
    description: str
    account_type: AccountType
    exchange: Exchange
    initial_capital: MoneyOut
    max_leverage: MoneyOut
    max_position_notional_usd: MoneyOut
    max_concurrent_positions: int
    symbols: list[str]
    show_on_dashboard: bool
    trading_enabled: bool
    status: TraderStatus
    status_reason: str | None
    daily_loss_limit_pct: MoneyOut | None
    max_drawdown_pct: MoneyOut | None
    breaker_closes_positions: bool
    llm_provider: str | None
    llm_model: str | None
    llm_base_url: str | None
    # Write-only: only whether a key is set and its last characters are ever returned.
    llm_api_key_set: bool
    llm_api_key_hint: str | None
    exchange_connected: bool
    exchange_environment: ExchangeEnvironment | None
    exchange_wallet_address: str | None
    exchange_key_hint: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PauseBody(Strict):
    reason: str = Field(default="", max_length=500)


class CloseBody(Strict):
    reason: str = Field(default="", max_length=500)


class KillSwitchBody(Strict):
    flatten: StrictBool = False
    reason: str = Field(default="", max_length=400)


class TriggerBody(Strict):
    binding_id: int | None = None
    context: Context = Field(default_factory=dict)


class ProgramCreate(Strict):
    name: Name
    code: str = Field(min_length=1, max_length=200_000)
    description: str = Field(default="", max_length=2000)
    enabled: StrictBool = True


class ProgramUpdate(Strict):
    name: Name | None = None
    code: str | None = Field(default=None, min_length=1, max_length=200_000)
    description: str | None = Field(default=None, max_length=2000)
    enabled: StrictBool | None = None


class ProgramOut(BaseModel):
    id: int
    name: str
    description: str
    code: str
    enabled: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ValidateBody(Strict):
    code: str = Field(max_length=200_000)


class ValidateOut(BaseModel):
    valid: bool
    errors: list[str]


class TestRunBody(Strict):
    account_id: int
    program_id: int | None = None
    code: str | None = Field(default=None, max_length=200_000)
    context: Context = Field(default_factory=dict)


class TestRunOut(BaseModel):
    status: str  # ok | failed
    decision: dict[str, Any] | None
    error_code: str | None
    error: str | None
    logs: str
    duration_ms: int
    risk_verdict: RiskVerdict | None
    orders_placed: int = 0


class BindingCreate(Strict):
    program_id: int | None = None
    prompt_id: int | None = None
    schedule_interval_seconds: int | None = Field(default=None, ge=5, le=86_400 * 7)
    signal_pool_ids: list[int] = Field(default_factory=list, max_length=100)

    @field_validator("signal_pool_ids")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        repeated = sorted({i for i in v if v.count(i) > 1})
        if repeated:
            raise ValueError(f"each pool at most once; repeated: {repeated}")
        return v


class BindingOut(BaseModel):
    id: int
    account_id: int
    program_id: int | None
    prompt_id: int | None
    schedule_interval_seconds: int | None
    signal_pool_ids: list[int]
    enabled: bool
    created_at: UtcDateTime


class DecisionOut(BaseModel):
    id: str
    account_id: int
    seq: int
    binding_id: int | None
    trigger_type: str
    trigger_context: dict[str, Any]
    status: DecisionStatus
    input_snapshot: dict[str, Any] | None
    output: dict[str, Any] | None
    error_code: str | None
    error: str | None
    logs: str | None
    # Prompt strategies: the exact prompt, the model, its raw answer, usage, latency and cost.
    llm_exchange: dict[str, Any] | None
    risk_verdict: dict[str, Any] | None
    orders: list[dict[str, Any]]
    workflow_id: str | None
    run_id: str | None
    duration_ms: int | None
    created_at: UtcDateTime
    completed_at: UtcDateTime | None


class TriggerOut(BaseModel):
    decision_id: str
    status: DecisionStatus
    decision: dict[str, Any] | None
    risk_verdict: RiskVerdict | None
    error_code: str | None
    error: str | None
    orders: list[OrderOutcome]
    record: DecisionOut | None


class Page(BaseModel):
    items: list[Any]
    page: int
    per_page: int
    total: int


class PositionOut(PositionView):
    # Known on live venues; None on the paper exchange (no liquidation engine yet).
    liquidation_price: Decimal | None = None
    margin_used: Decimal | None = None


class PositionsOut(BaseModel):
    account_id: int
    positions: list[PositionOut]
    total_count: int
    total_unrealized_pnl: MoneyOut


class OverviewOut(BaseModel):
    id: int
    name: str
    status: TraderStatus
    status_reason: str | None
    trading_enabled: bool
    exchange: Exchange
    initial_capital: MoneyOut
    equity: MoneyOut
    cash: MoneyOut
    available: MoneyOut
    used_margin: MoneyOut
    realized_pnl: MoneyOut
    unrealized_pnl: MoneyOut
    fees_paid: MoneyOut
    total_pnl: MoneyOut
    total_trades: int
    total_decisions: int
    open_positions: int


class PromptCreate(Strict):
    name: Name
    content: str = Field(min_length=1, max_length=100_000)


class PromptUpdate(Strict):
    name: Name | None = None
    content: str | None = Field(default=None, min_length=1, max_length=100_000)


class PromptRename(Strict):
    name: Name


class PromptOut(BaseModel):
    id: int
    name: str
    content: str
    variables: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PromptPreviewBody(Strict):
    account_id: int
    prompt_id: int | None = None
    content: str | None = Field(default=None, max_length=100_000)
    context: Context = Field(default_factory=dict)


class PromptPreviewOut(BaseModel):
    system: str
    user: str
    variables: dict[str, str]


class ExchangeConnect(Strict):
    """Hyperliquid: wallet_address + api_wallet_private_key (the agent). Binance: api_key +
    api_secret (no withdrawal permission). base_url overrides the environment's endpoint."""

    environment: ExchangeEnvironment
    wallet_address: str | None = Field(default=None, max_length=64)
    api_wallet_private_key: str | None = Field(default=None, max_length=200)
    api_key: str | None = Field(default=None, max_length=200)
    api_secret: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
