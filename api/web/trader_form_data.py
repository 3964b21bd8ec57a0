"""The trader form's data: reading the posted form, turning it into the REST routes' own bodies
(AccountCreate, AccountUpdate, ExchangeConnect, BindingCreate: validated by the same models),
and putting each validation error next to its field.

Keys are write-only: a posted key goes into a body and nowhere else, never back into a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import ValidationError

from api.errors import ApiError
from api.schemas import AccountOut
from domain.vocabulary import AccountType, Exchange, ExchangeEnvironment
from vault.redact import HINT_PREFIX

MAX_FORM_BYTES = 32_768  # the form has no free text longer than a base URL or a key
# Fields the form shows, each with a label (error messages name them as the API does).
ACCOUNT_FIELDS = (
    "name", "account_type", "exchange", "symbols", "initial_capital", "max_leverage",
    "max_position_notional_usd", "max_concurrent_positions", "daily_loss_limit_pct",
    "max_drawdown_pct", "breaker_closes_positions", "trading_enabled", "llm_provider",
    "llm_model", "llm_base_url", "llm_api_key",
)  # fmt: skip
EXCHANGE_FIELDS = (
    "environment", "wallet_address", "api_wallet_private_key", "api_key", "api_secret", "base_url"
)  # fmt: skip
SECRET_FIELDS = ("llm_api_key", "api_wallet_private_key", "api_key", "api_secret")
BINDING_FIELDS = ("program_id", "prompt_id", "schedule_interval_seconds", "signal_pool_ids")
LLM_FIELDS = ("llm_provider", "llm_model", "llm_base_url", "llm_api_key")
# Error codes whose message belongs to one field rather than to the whole form.
CODE_FIELDS = {
    "SYMBOL_NOT_SUPPORTED": "symbols",
    "LEVERAGE_ABOVE_VENUE_MAX": "max_leverage",
    "INVALID_LLM_CONFIG": "llm_provider",
    "LLM_HOST_NOT_ALLOWED": "llm_base_url",
    "INVALID_CREDENTIALS": "exchange_keys",
    "PAPER_ACCOUNT": "exchange_keys",
    "BINDING_TYPE_MISMATCH": "binding",
    "SIGNAL_POOL_NOT_FOUND": "signal_pool_ids",
    "PROGRAM_NOT_FOUND": "program_id",
    "PROMPT_NOT_FOUND": "prompt_id",
}


@dataclass
class Posted:
    """One posted form: single values, and the pools ticked (the one repeated field)."""

    values: dict[str, str] = field(default_factory=dict)
    pools: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def ticked(self, name: str) -> bool:
        return self.values.get(name) in ("on", "true", "1")


async def read_posted(request: Request) -> Posted:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return Posted()
    posted = Posted()
    for key, value in parse_qsl(body.decode("utf-8", "replace"), max_num_fields=300):
        if key == "signal_pool_ids":
            posted.pools.append(value)
        else:
            posted.values[key] = value
    return posted


def _or_none(text: str) -> str | None:
    return text or None


def _number(text: str) -> Any:
    """An integer as an int (the models want one); anything else as typed, for the model to
    refuse with its own message."""
    return int(text) if text.isdigit() else _or_none(text)


def symbols_of(text: str) -> list[str]:
    return [s for s in (part.strip() for part in text.replace("\n", ",").split(",")) if s]


def create_body(p: Posted) -> dict[str, Any]:
    """What POST /api/account/ would receive from this form."""
    body: dict[str, Any] = {
        "name": p.get("name"),
        "account_type": p.get("account_type") or AccountType.PROGRAM.value,
        "exchange": p.get("exchange") or Exchange.PAPER.value,
        "symbols": symbols_of(p.get("symbols")),
        "initial_capital": _or_none(p.get("initial_capital")),
        "max_leverage": _or_none(p.get("max_leverage")),
        "max_position_notional_usd": _or_none(p.get("max_position_notional_usd")),
        "max_concurrent_positions": _number(p.get("max_concurrent_positions")),
        "daily_loss_limit_pct": _or_none(p.get("daily_loss_limit_pct")),
        "max_drawdown_pct": _or_none(p.get("max_drawdown_pct")),
        "breaker_closes_positions": p.ticked("breaker_closes_positions"),
        "trading_enabled": p.ticked("trading_enabled"),
    }
    if body["account_type"] == AccountType.PROMPT:
        body.update({f: _or_none(p.get(f)) for f in LLM_FIELDS})
    return {k: v for k, v in body.items() if v is not None}


def _same(wanted: Any, now: Any) -> bool:
    """Equal as the API would store them: 5 and 5.0000000000 are one leverage."""
    try:
        return Decimal(str(wanted)) == Decimal(str(now))
    except (InvalidOperation, ValueError):
        return str(wanted) == str(now)


def update_body(p: Posted, now: AccountOut) -> dict[str, Any]:
    """What PUT /api/account/{id} would receive: only what the form changed (an unchanged
    leverage or symbol list is not re-checked with the venue). A blank key field keeps the key;
    "Clear" sends null, which removes it."""
    wanted = create_body(p)
    body: dict[str, Any] = {}
    for name in ("name", "symbols", "initial_capital", "max_leverage",
                 "max_position_notional_usd", "max_concurrent_positions",
                 "breaker_closes_positions", "trading_enabled"):  # fmt: skip
        if name in wanted and not _same(wanted[name], getattr(now, name)):
            body[name] = wanted[name]
    for name in ("daily_loss_limit_pct", "max_drawdown_pct"):  # blank turns a breaker off
        value, current = wanted.get(name), getattr(now, name)
        if (value is None) != (current is None) or (
            value is not None and not _same(value, current)
        ):
            body[name] = value
    if now.account_type == AccountType.PROMPT:
        for name in ("llm_provider", "llm_model", "llm_base_url"):
            if wanted.get(name) is not None and wanted[name] != getattr(now, name):
                body[name] = wanted[name]
        if wanted.get("llm_api_key"):
            body["llm_api_key"] = wanted["llm_api_key"]
        elif p.ticked("llm_api_key_clear"):
            body["llm_api_key"] = None
    if body.get("symbols") == list(now.symbols):
        del body["symbols"]
    return body


def exchange_body(p: Posted) -> dict[str, Any] | None:
    """PUT /api/account/{id}/exchange's body, or None when no key was typed (keep the keys)."""
    keys = {f: _or_none(p.get(f)) for f in ("api_wallet_private_key", "api_key", "api_secret")}
    if not any(keys.values()):
        return None
    body = {
        "environment": p.get("environment") or ExchangeEnvironment.TESTNET.value,
        "wallet_address": _or_none(p.get("wallet_address")),
        "base_url": _or_none(p.get("base_url")),
        **keys,
    }
    return {k: v for k, v in body.items() if v is not None}


def binding_body(p: Posted) -> dict[str, Any] | None:
    """POST /api/account/{id}/bindings's body, or None when no program or prompt was chosen."""
    program, prompt = p.get("program_id"), p.get("prompt_id")
    if not program and not prompt:
        return None
    body: dict[str, Any] = {
        "program_id": _number(program),
        "prompt_id": _number(prompt),
        "schedule_interval_seconds": _number(p.get("schedule_interval_seconds")),
        "signal_pool_ids": [_number(x) for x in p.pools if x],
    }
    return {k: v for k, v in body.items() if v is not None}


def validation_errors(err: ValidationError) -> dict[str, str]:
    """Each pydantic error at its field ("symbols.2" goes to symbols), as the API's 422 names
    it ("loc: msg")."""
    out: dict[str, str] = {}
    for e in err.errors():
        loc = [str(x) for x in e.get("loc", ())]
        out.setdefault(loc[0] if loc else "form", str(e.get("msg", "invalid")))
    return out


def api_error(err: ApiError, default: str = "form") -> dict[str, str]:
    """An API error at the field its code or its message names ("llm_model: ..."), else at
    `default` (the exchange keys, for whatever the venue answered about them)."""
    text = f"{err.message} ({err.code})"
    if err.code in CODE_FIELDS:
        return {CODE_FIELDS[err.code]: text}
    if err.code.startswith("EXCHANGE_"):
        return {"exchange_keys": text}
    head = err.message.split(":", 1)[0].split(" ", 1)[0]
    if head in (*ACCOUNT_FIELDS, *EXCHANGE_FIELDS, *BINDING_FIELDS):
        return {head: text}
    return {default: text}


def key_hint(hint: str | None) -> str:
    """ "set, ending abcd" from the stored hint ("…abcd"); "set" for a key too short for one."""
    if not hint:
        return ""
    return "set, ending " + hint[len(HINT_PREFIX) :] if hint.startswith(HINT_PREFIX) else "set"
