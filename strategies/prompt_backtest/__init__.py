"""Prompt backtests (README "Prompt backtests"): replay and simulate a prompt on history with the
trader's own model, through the live render, client and parser, with an answer cache."""
