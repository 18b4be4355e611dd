"""The timing rule both sides of a benchmark follow: workbench here, crowd-kit in its own venv
(``crowdkit_run.py`` imports this file as a sibling module, so it needs nothing but the stdlib).

Call at least ``repeats`` times and until ``min_time`` seconds of calls have run (at most
MAX_RUNS), keep the fastest. As timeit and pyperf do, a fast call is run more often, so a few noisy
milliseconds on a shared machine do not decide its time; a slow one already spans seconds per call.
"""

from __future__ import annotations

import time
from typing import Any, Callable

MAX_RUNS = 1000
MIN_TIME = 1.0


def best_of(repeats: int, fn: Callable[..., Any], min_time: float = MIN_TIME,
            setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
    """(fastest seconds, the last call's result). With ``setup``, each call is ``fn(setup())``
    and only ``fn`` is timed (a fresh model per call, say)."""
    best, out = float("inf"), None
    spent, runs = 0.0, 0
    while runs < repeats or (spent < min_time and runs < MAX_RUNS):
        args = (setup(),) if setup is not None else ()
        start = time.perf_counter()
        out = fn(*args)
        took = time.perf_counter() - start
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best, out
