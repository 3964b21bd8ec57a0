"""`python -m bench` (`make bench`): the real stack under load, measured on this machine.

Modules: `stack` brings up Temporal dev server + a real worker process + the API (in-process)
+ SQLite in a temp dir and samples process RSS/CPU; `workloads` creates traders and drives
signals, pool fires and measures latencies from the database; `baseline` runs the same
decision logic in plain asyncio (no Temporal, no database); `report` prints the table and
writes `bench/results/latest.json`. See docs/performance.md for definitions and findings.
"""
