"""The worker, stalling once: `python -m tests.support.stalling_worker`.

Right after the activity named by HYPERORU_TEST_STALL_AFTER completes (its transaction
committed) for the first time, the process stops itself with SIGSTOP, mid workflow task; the
test wakes it with SIGCONT after the task timed out at the server. Nothing else differs from
`python worker.py`.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

import runtime.worker as worker


class StallAfter(Interceptor):
    def __init__(self, step: str) -> None:
        self.step = step
        self.done = False

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        plan = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                result = await super().execute_activity(input)
                if activity.info().activity_type == plan.step and not plan.done:
                    plan.done = True
                    os.kill(os.getpid(), signal.SIGSTOP)
                return result

        return Inbound(next)


if __name__ == "__main__":
    worker.run([StallAfter(os.environ["HYPERORU_TEST_STALL_AFTER"])])
