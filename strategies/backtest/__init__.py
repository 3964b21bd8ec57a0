"""Backtests: the live decision pipeline run over stored history (README "Backtests";
the team spec is backtesting.md section 8). `contract` holds the types every part shares:
the engine (the section 8.4 loop), the deciders (a program in the sandbox, a prompt through
the LLM) and the Temporal activity that drives a run and stores its results."""
