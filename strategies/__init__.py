"""Strategies: a program run in the sandbox, a prompt sent to a model, and what both see."""
