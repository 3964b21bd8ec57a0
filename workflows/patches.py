"""Every patch of the trader workflow, and one marker per run for all of them.

Workflow code: pure orchestration. Each `workflow.patched` call records a marker and a
search-attribute upsert the first time a run takes it: a fresh trader recorded 12 such events
over its start and first decision, for the server to store and the worker to process, and a
run continued as new recorded them again. So a run started by this code records one marker
(BUNDLE_PATCH) that stands for every patch in BUNDLED, and a run continued as new is handed the
set it runs with (CarriedConfig.patches) and records none. A history recorded before the bundle
has no BUNDLE_PATCH marker: each patch is then checked on its own, exactly as before.
"""

from __future__ import annotations

from temporalio import workflow

# Why a patch: histories recorded before this change scheduled every step as a normal activity;
# they must replay the same way, while new runs record local-activity markers instead.
LOCAL_STEPS_PATCH = "local-steps-v1"
# The same for the trader's own steps (configuration, status, notes), patched separately: the
# decision steps went local first, and histories exist with only that change.
LOCAL_TRADER_STEPS_PATCH = "local-trader-steps-v1"
# Why a patch: a local activity that runs out of attempts raises its own failure in the workflow
# (ApplicationError, TimeoutError), not the ActivityError of a normal activity, so the
# `except ActivityError` around each step missed it and the whole trader workflow failed (seen
# when a database outage outlasted gather_context's attempts). New runs raise an ActivityError
# (caused by that failure); histories in which a trader failed that way replay unchanged.
LOCAL_STEP_FAILURE_PATCH = "local-step-failure-v1"
# Why a patch: an order whose answer was lost is settled by a resolve_order lookup and, if still
# unknown, fails the decision as ORDER_UNKNOWN (halting the trader) instead of ORDER_REJECTED;
# histories recorded before must replay unchanged.
ORDER_UNKNOWN_PATCH = "order-unknown-v1"
# Why a patch: paper orders became local activities; histories that placed them as normal
# activities must replay the same way.
LOCAL_PAPER_ORDERS_PATCH = "local-paper-orders-v1"
# Why a patch: the position sync (at start, then every POSITION_SYNC_SECONDS while positions are
# open) adds commands; histories recorded before it must replay unchanged.
POSITION_SYNC_PATCH = "position-sync-v1"
# Why a patch: a paper trader's account sync became a local activity; histories that ran it as
# a normal activity must replay the same way.
LOCAL_PAPER_SYNC_PATCH = "local-paper-sync-v1"
# Why a patch: reconciliation also runs on resume and every RECONCILE_SECONDS with no position
# open (new commands and timers); histories recorded before must replay unchanged.
RECONCILE_PATCH = "reconcile-v1"
# Why a patch: a run that did work and then stays idle continues as new (new timers and a
# continue-as-new command); histories recorded before must replay unchanged.
IDLE_CONTINUE_AS_NEW_PATCH = "idle-continue-as-new-v1"

# Why a patch: one rule for every message, rejected means no effect (a malformed `pause` used to
# pause, a `resume` or `config_changed` with junk input to act), and `stop` first reloads the
# configuration and ends the run only if the trader is deleted (it used to end any trader's
# run at once). Histories recorded before must replay as they ran.
MESSAGE_RULES_PATCH = "message-rules-v1"

# Why a patch: the marker that stands for every patch in BUNDLED (see the module docstring). A
# patch added later is not in it: it records its own marker, until a new bundle (checked before
# this one) lists it.
BUNDLE_PATCH = "patch-bundle-v1"
BUNDLED = frozenset(
    {
        LOCAL_STEPS_PATCH,
        LOCAL_TRADER_STEPS_PATCH,
        LOCAL_STEP_FAILURE_PATCH,
        ORDER_UNKNOWN_PATCH,
        LOCAL_PAPER_ORDERS_PATCH,
        POSITION_SYNC_PATCH,
        LOCAL_PAPER_SYNC_PATCH,
        RECONCILE_PATCH,
        IDLE_CONTINUE_AS_NEW_PATCH,
    }
)


def in_effect() -> frozenset[str]:
    """The patches the bundle (or the carried set) puts in effect for this run, decided on the
    first call and kept on the workflow instance (`patches_in_effect`)."""
    instance = workflow.instance()
    known: frozenset[str] | None = getattr(instance, "patches_in_effect", None)
    if known is None:
        known = BUNDLED if workflow.patched(BUNDLE_PATCH) else frozenset()
        instance.patches_in_effect = known
    return known


def patched(name: str) -> bool:
    """`workflow.patched(name)`, without a marker of its own where the run's set has it."""
    return name in in_effect() or workflow.patched(name)
