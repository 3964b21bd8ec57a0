"""The worker: trader and signal-pool workflows with their activities. `python worker.py`
(installed: `hyperoru worker`); the machinery lives in runtime/worker.py."""

from runtime.worker import run

if __name__ == "__main__":
    run()
