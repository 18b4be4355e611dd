"""The campaign's steps, one module each, in pipeline order:

plan -> assign -> push -> simulate -> pull -> aggregate -> agreement -> export

Each module's ``run(ctx)`` is a plain function: it reads the campaign through ``ctx.state`` (the
read model), writes its results through the store's SQL modules in one transaction where it can,
and returns a summary (what the step did, as plain JSON). The engine (:mod:`workbench.campaign`)
only sequences them; none of them imports it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from ..errors import WorkbenchError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends import Backend
    from ..registry import Registry
    from ..spec import CampaignSpec
    from ..state import CampaignState
    from ..store import Store
    from ..tasktype import TaskType

STEPS = ("plan", "assign", "push", "simulate", "pull", "aggregate", "agreement", "export")

Progress = Callable[[str, int], Callable[[int], None]]
T = TypeVar("T")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block, and as it was after it.

    A step over a big campaign builds hundreds of thousands of small objects (rows, units,
    assignments, answers) that reference counting frees; the cyclic collector runs every 700
    allocations and, as the heap grows, walks every long-lived object again (millions at 50 MB):
    a third of assign's and push's CPU time at 5 MB, a quarter of simulate's. The steps make no
    reference cycles worth collecting meanwhile. Not ``gc.freeze()`` or a process-wide switch: the
    collector is back as the caller had it when the block ends, an error or not (a caller that had
    it off keeps it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def return_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    A step frees its read model and its tables when it ends, but glibc keeps the freed pages for the
    process: at 50 MB the export started about 1.6 GB up, 0.6 GB of it pages the steps before had
    freed, and its own peak came on top (2.19 GB; 2.03 GB after the agreement alone, 1.91 GB with
    the pages returned). A few milliseconds per call."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to give back this way
        return None


def collector_paused_in(step: Callable[..., T]) -> Callable[..., T]:
    """``step`` run with :func:`collector_paused` (for a whole step function)."""
    @functools.wraps(step)
    def run(*args: Any, **kwargs: Any) -> T:
        with collector_paused():
            return step(*args, **kwargs)

    return run


def quiet(desc: str, total: int) -> Callable[[int], None]:
    return lambda n=1: None


@dataclass
class StepContext:
    """What a step works with: the spec, the store and its read model, plugins, the backend."""

    spec: "CampaignSpec"
    store: "Store"
    state: "CampaignState"
    registry: "Registry"
    task_type: "TaskType"
    spec_version: int = 1
    progress: Progress = quiet
    backend_factory: Callable[[], "Backend"] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def backend(self) -> "Backend":
        if self.backend_factory is None:
            raise WorkbenchError(f"campaign {self.name!r}: no backend")
        return self.backend_factory()

    @property
    def backend_state(self):
        """What the campaign's backend remembers (its own table)."""
        from ..store.backend import BackendState

        return BackendState(self.store, self.name, self.spec.backend)

    def record(self, step: str, summary: dict, inputs: dict | None = None) -> int:
        """Record what ``step`` produced (inside its transaction); its run number."""
        from ..store import campaigns as campaigns_sql
        from ..store import now

        return campaigns_sql.record_step(self.store, self.name, step, summary, now(), inputs)

    def require(self, step: str, before: str) -> None:
        if self.state.step(before) is None:
            raise WorkbenchError(f"campaign {self.name!r}: run `{before}` before `{step}`")
