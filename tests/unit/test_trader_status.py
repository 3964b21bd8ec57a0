"""domain.trader.status_after_decision: the trader's status (and its reason) after a decision,
one pure rule, every branch."""

from __future__ import annotations

import pytest

from domain.trader import TraderStatus, status_after_decision
from domain.vocabulary import DecisionStatus

FAIL = (DecisionStatus.FAILED, "ORDER_REJECTED", "margin")


@pytest.mark.parametrize(
    ("decision", "paused", "halt", "expected"),
    [
        ((DecisionStatus.EXECUTED, None, None), False, "", (TraderStatus.ACTIVE, None)),
        ((DecisionStatus.HOLD, None, None), False, None, (TraderStatus.ACTIVE, None)),
        (
            (DecisionStatus.DENIED, "MAX_POSITIONS", "too many"),
            False,
            "",
            (TraderStatus.ACTIVE, None),
        ),
        (FAIL, False, "", (TraderStatus.ERROR, "ORDER_REJECTED: margin")),
        (
            (DecisionStatus.EXECUTED, None, None),
            False,
            "ORDER_UNKNOWN: x",
            (TraderStatus.ERROR, "ORDER_UNKNOWN: x"),
        ),
        (FAIL, False, "ORDER_UNKNOWN: x", (TraderStatus.ERROR, "ORDER_REJECTED: margin")),
        ((DecisionStatus.EXECUTED, None, None), True, "", (TraderStatus.PAUSED, None)),
        (
            (DecisionStatus.EXECUTED, None, None),
            True,
            "ORDER_UNKNOWN: x",
            (TraderStatus.PAUSED, "ORDER_UNKNOWN: x"),
        ),
        (FAIL, True, "", (TraderStatus.PAUSED, "ORDER_REJECTED: margin")),
    ],
    ids=[
        "executed-active",
        "hold-active",
        "denied-active",
        "failed-error-with-its-error",
        "halted-error-with-the-halt",
        "failed-and-halted-the-failure-names-it",
        "paused-stays-paused",
        "paused-and-halted-keeps-the-halt-reason",
        "paused-and-failed-keeps-the-failure",
    ],
)
def test_status_after_decision(
    decision: tuple[str, str | None, str | None],
    paused: bool,
    halt: str | None,
    expected: tuple[TraderStatus, str | None],
) -> None:
    status, code, error = decision
    assert status_after_decision(status, code, error, paused=paused, halt_reason=halt) == expected


def test_a_decision_while_paused_keeps_the_pause_reason() -> None:
    """A close that runs while paused (the owner's, the kill switch's, a circuit breaker's)
    used to record the trader's reason as none, wiping why it was paused."""
    reason = "CIRCUIT_BREAKER_DAILY_LOSS: equity 900 is 10% below ..."
    got = status_after_decision(
        DecisionStatus.EXECUTED, None, None, paused=True, halt_reason="", pause_reason=reason
    )
    assert got == (TraderStatus.PAUSED, reason)
    failed = status_after_decision(*FAIL, paused=True, halt_reason="", pause_reason=reason)
    assert failed == (TraderStatus.PAUSED, "ORDER_REJECTED: margin")  # a failure still names it
    active = status_after_decision(
        DecisionStatus.EXECUTED, None, None, paused=False, halt_reason="", pause_reason="x"
    )
    assert active == (TraderStatus.ACTIVE, None)


def test_the_exchange_refusing_the_owners_own_order_is_not_an_error() -> None:
    """The owner was answered (POST /api/orders/create); the trader did nothing wrong. Any
    other failure of the owner's order, and a strategy's refused order, still are."""
    refused = status_after_decision(*FAIL, paused=False, halt_reason="", owner_order=True)
    assert refused == (TraderStatus.ACTIVE, None)
    unknown = (DecisionStatus.FAILED, "ORDER_UNKNOWN", "lost")
    assert status_after_decision(*unknown, paused=False, halt_reason="", owner_order=True) == (
        TraderStatus.ERROR,
        "ORDER_UNKNOWN: lost",
    )
    assert status_after_decision(*FAIL, paused=False, halt_reason="")[0] is TraderStatus.ERROR
