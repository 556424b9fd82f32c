"""Script time (脚本耗时上限, issue 16 finding 5): a CPU-time budget for the scripts and expressions of one command.

The step budget caps loop rounds (100 000 per run), but rounds can be dear: nested loops over a large list with a
membership test inside ran 10-20 s within one command, holding the case's row lock and a web worker. Each command
gets one budget (SCRIPT_CPU_SECONDS, default 2 s) that every script and expression it runs draws on. Time is the
thread's own CPU time (`time.thread_time`), so other requests served by the same process do not count and a script
waiting on nothing cannot be blamed for a slow machine's wall clock. The budget is checked when a script or
expression starts and every CHECK_EVERY loop rounds inside it (the sandbox's _getiter_ guard, IterationBudget);
past it the run stops with ScriptTimeExceeded and the instance is saved in error naming the element.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from processes.errors import ScriptRejected

DEFAULT_CPU_SECONDS = 2.0
CHECK_EVERY = 64  # loop rounds between two looks at the clock (a look costs about a microsecond)


class ScriptTimeExceeded(ScriptRejected):
    """The scripts and expressions of one command used more CPU time than the budget allows."""


class CpuBudget:
    """CPU seconds the scripts and expressions of one command may use together."""

    def __init__(self, seconds: float = DEFAULT_CPU_SECONDS) -> None:
        self.seconds = float(seconds)
        self.spent = 0.0  # by finished runs
        self._started: float | None = None  # thread time at the start of the run in progress

    def used(self) -> float:
        """Return the CPU seconds used so far, the run in progress included."""
        running = time.thread_time() - self._started if self._started is not None else 0.0
        return self.spent + running

    def check(self) -> None:
        """Raise ScriptTimeExceeded when the budget is used up."""
        if self.seconds > 0 and self.used() > self.seconds:
            raise ScriptTimeExceeded(
                f"scripts used more than {self.seconds:g} s of CPU time in one command (a loop over too much data?)")

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count one script or expression run against the budget; nested runs count once."""
        if self._started is not None:
            yield
            return
        self.check()  # earlier runs of this command may have used it up
        token = ACTIVE.set(self)
        self._started = time.thread_time()
        try:
            yield
        finally:
            self.spent += time.thread_time() - self._started
            self._started = None
            ACTIVE.reset(token)


# The budget of the run in progress on this thread (the shared sandbox environment reads it per run).
ACTIVE: ContextVar[CpuBudget | None] = ContextVar("hotline_script_cpu_budget", default=None)
