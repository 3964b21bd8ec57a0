"""Every id the platform mints: one constructor and one parser each.

Ids are deterministic (a retried step mints the same one), so they double as idempotency keys:
a decision is `dec-<account>-<seq>`, its orders `ho-<account>-<seq>-<leg>` (a protective leg
adds `:tp` or `:sl`), a trader's workflow `trader-<account>`, a signal pool's
`signal-pool-<pool>`, a pool's firing `signal-pool-<pool>:<SYMBOL>@<candle ms>`. A parser
raises `ValueError` for text that is not such an id, never guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NewType

DecisionId = NewType("DecisionId", str)
ClientOrderId = NewType("ClientOrderId", str)
WorkflowId = NewType("WorkflowId", str)
FireId = NewType("FireId", str)

ProtectiveKind = Literal["tp", "sl"]


class OrderLeg(StrEnum):
    """Which order of a decision: the entry it opens, or the close of a position."""

    ENTRY = "entry"
    CLOSE = "close"


_NUMBER = r"(0|[1-9][0-9]*)"
_DECISION_RE = re.compile(rf"dec-{_NUMBER}-{_NUMBER}")
_ORDER_RE = re.compile(rf"ho-{_NUMBER}-{_NUMBER}-(entry|close)(?::(tp|sl))?")
_TRADER_RE = re.compile(rf"trader-{_NUMBER}")
_POOL_RE = re.compile(rf"signal-pool-{_NUMBER}")
_FIRE_RE = re.compile(rf"signal-pool-{_NUMBER}:([^@:]+)@{_NUMBER}")


def _match(pattern: re.Pattern[str], text: str, what: str) -> re.Match[str]:
    found = pattern.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not a {what}: {text!r}"[:200])
    return found


# ------------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class DecisionRef:
    account_id: int
    seq: int


def decision_id(account_id: int, seq: int) -> DecisionId:
    """The id of a trader's decision (or note) number `seq`."""
    return DecisionId(f"dec-{account_id}-{seq}")


def parse_decision_id(text: str) -> DecisionRef:
    found = _match(_DECISION_RE, text, "decision id")
    return DecisionRef(account_id=int(found[1]), seq=int(found[2]))


# ---------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderRef:
    account_id: int
    seq: int
    leg: OrderLeg
    protective: ProtectiveKind | None = None  # the TP or SL leg of an entry

    @property
    def entry(self) -> ClientOrderId:
        """The id of the order this one protects (itself when it protects none)."""
        return client_order_id(self.account_id, self.seq, self.leg)


def client_order_id(account_id: int, seq: int, leg: OrderLeg | str) -> ClientOrderId:
    """Deterministic, unique per trader decision and leg; fits Binance's 36-char id rule."""
    return ClientOrderId(f"ho-{account_id}-{seq}-{OrderLeg(leg).value}")


def protective_client_order_id(entry: str, kind: ProtectiveKind) -> ClientOrderId:
    """Our id for the TP or SL leg of an entry, e.g. ``ho-7-12-entry:tp``."""
    return ClientOrderId(f"{entry}:{kind}")


def parse_client_order_id(text: str) -> OrderRef:
    found = _match(_ORDER_RE, text, "client order id")
    kind: ProtectiveKind | None = "tp" if found[4] == "tp" else "sl" if found[4] == "sl" else None
    return OrderRef(int(found[1]), int(found[2]), OrderLeg(found[3]), kind)


def protective_kind(text: str) -> ProtectiveKind | None:
    """`tp` or `sl` for a protective leg's id, None for any other id (ours or not)."""
    if text.endswith(":tp"):
        return "tp"
    if text.endswith(":sl"):
        return "sl"
    return None


def entry_of(text: str) -> str:
    """The id a protective leg's id protects (``ho-7-12-entry:tp`` -> ``ho-7-12-entry``);
    any other id is returned as it is."""
    return text.rsplit(":", 1)[0] if protective_kind(text) else text


def is_order_of(text: str, account_id: int) -> bool:
    """Whether `text` is an id this platform minted for trader `account_id`."""
    try:
        return parse_client_order_id(text).account_id == account_id
    except ValueError:
        return False


# ------------------------------------------------------------------------------- workflows


def trader_workflow_id(account_id: int) -> WorkflowId:
    return WorkflowId(f"trader-{account_id}")


def parse_trader_workflow_id(text: str) -> int:
    """The account id of a trader's workflow id."""
    return int(_match(_TRADER_RE, text, "trader workflow id")[1])


def pool_workflow_id(pool_id: int) -> WorkflowId:
    return WorkflowId(f"signal-pool-{pool_id}")


def parse_pool_workflow_id(text: str) -> int:
    """The pool id of a signal pool's workflow id."""
    return int(_match(_POOL_RE, text, "signal pool workflow id")[1])


# ---------------------------------------------------------------------------------- fires


@dataclass(frozen=True)
class FireRef:
    pool_id: int
    symbol: str
    candle_time_ms: int


def fire_id(pool_id: int, symbol: str, candle_time_ms: int) -> FireId:
    """Deterministic id of a pool firing for a symbol on a candle (its trigger key)."""
    return FireId(f"{pool_workflow_id(pool_id)}:{symbol.strip().upper()}@{candle_time_ms}")


def parse_fire_id(text: str) -> FireRef:
    found = _match(_FIRE_RE, text, "signal pool fire id")
    return FireRef(int(found[1]), found[2], int(found[3]))
