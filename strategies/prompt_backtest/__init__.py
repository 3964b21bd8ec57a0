"""Prompt backtests (README "Prompt backtests"): replay and simulate a prompt on history with the
trader's own model, through the live render, client and parser, with an answer cache."""


class TaskProblem(Exception):
    """The task cannot run at all (its trader is gone, its model is not configured): it fails
    with this message, without a retry."""
