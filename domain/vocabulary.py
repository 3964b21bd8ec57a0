"""The platform's closed vocabularies, one StrEnum each, shared by every layer.

A member is its wire text (`Side.BUY == "buy"`, JSON `"buy"`, stored as `buy`): the database,
Temporal payloads, the API and programs see exactly the strings they saw before these enums
existed, and a string read back from any of them compares equal to its member. Code names a
member, never the bare string (tests/unit/test_vocabulary_guard.py checks the source).

Other closed sets live next to what they describe: `domain.ids.OrderLeg` (entry | close),
`domain.orders.OrderStatus`, `domain.trader.TraderStatus`, `domain.trader.TriggerType`,
`domain.decision.Operation`. (Not to be confused with `domain.signals.vocabulary`, the words of a
signal definition.)
"""

from __future__ import annotations

from enum import StrEnum

# The enums the API shows carry comments, not docstrings: a docstring would become the
# schema's description in the OpenAPI document.


# Which way an order trades.
class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def opens(self) -> PositionSide:
        """The position an order of this side opens (or adds to)."""
        return PositionSide.LONG if self is Side.BUY else PositionSide.SHORT


# Which way a position is held.
class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def entry_side(self) -> Side:
        """The side of an order that opens (or adds to) such a position."""
        return Side.BUY if self is PositionSide.LONG else Side.SELL

    @property
    def exit_side(self) -> Side:
        """The side of an order that reduces or closes such a position."""
        return self.entry_side.opposite

    @property
    def sign(self) -> int:
        """+1 for a long, -1 for a short: a price move times this is the position's gain."""
        return 1 if self is PositionSide.LONG else -1


# The status of a row of the decision log (decisions.status), and of a DecisionOutcome.
class DecisionStatus(StrEnum):
    PENDING = "pending"  # context gathered, the outcome not recorded yet
    HOLD = "hold"  # the strategy decided to do nothing
    EXECUTED = "executed"  # every order of the decision filled
    DENIED = "denied"  # the risk gate (or a halt) refused the decision
    FAILED = "failed"  # no decision, or an order of it did not fill
    INVALID = "invalid"  # the strategy answered, but not with a usable decision
    # Notes: a trigger that made no decision, or something the owner did (see Note).
    REJECTED_INPUT = "rejected_input"  # a malformed signal or update, refused
    IGNORED = "ignored"  # a trigger that arrived while the trader was paused
    RESUMED = "resumed"  # an operator cleared an ORDER_UNKNOWN halt
    DELETED = "deleted"  # deleted with open positions left unwatched
    PAUSED = "paused"  # paused by a circuit breaker or the owner's kill switch


# The venue a trader trades on; `paper` is the platform's own simulated exchange.
class Exchange(StrEnum):
    PAPER = "paper"
    HYPERLIQUID = "hyperliquid"
    BINANCE = "binance"


# Where a live venue's endpoints are.
class ExchangeEnvironment(StrEnum):
    TESTNET = "testnet"
    MAINNET = "mainnet"


# What kind of strategy a trader runs: a Python program, or a prompt to a language model.
class AccountType(StrEnum):
    PROGRAM = "program"
    PROMPT = "prompt"


# Where market data comes from (HYPERORU_MARKET_SOURCE; also the `source` of stored candles):
# a seeded simulation, or a live venue's public data.
class MarketSource(StrEnum):
    SIMULATED = "simulated"
    HYPERLIQUID = "hyperliquid"
    BINANCE = "binance"
