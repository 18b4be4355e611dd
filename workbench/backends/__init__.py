"""Backends: where annotators work. Registered through ``register_backends``.

A backend receives units (push), lets annotators label them (people in a UI, or the simulated
crowd through :meth:`Backend.simulate`) and hands back raw results in Label Studio's result format
(pull). The engine validates every result against the task type and keeps the store; a backend
keeps its own state through ``context.state`` (its own table), never in the core's tables.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Label, PreLabel, Unit
    from ..registry import Registry
    from ..review import RawVerdict, ReviewTask
    from ..simulate import SimulatedAnnotator
    from ..spec import CampaignSpec
    from ..store import Store
    from ..store.backend import BackendState
    from ..tasktype import TaskType


def _no_progress(n: int = 1) -> None:
    """Progress that shows nothing."""


#: the key under which the engine keeps a backend's pull cursor in the backend's own state
PULL_CURSOR = "pull_cursor"


@dataclass
class BackendContext:
    spec: "CampaignSpec"
    store: "Store"
    task_type: "TaskType"
    registry: "Registry"
    #: ``progress(description, total)`` returns a callable to advance by n; no-op when quiet
    progress: Callable[[str, int], Callable[[int], None]] = field(default=lambda desc, total: _no_progress)
    #: what this backend remembers about this campaign (its own table in the store)
    state: "BackendState | None" = None

    def __post_init__(self):
        if self.state is None:
            from ..store.backend import BackendState

            self.state = BackendState(self.store, self.spec.name, self.spec.backend)


@dataclass(frozen=True)
class RawAnnotation:
    """One annotation as the backend has it, before validation.

    ``key`` identifies it in the backend for its whole life (an edit keeps the key). ``error`` is
    set by a backend that already found the result invalid (say, against the server's label config):
    the engine quarantines it with that reason.
    """

    key: str
    unit_id: str
    annotator_id: str
    result: list[dict] | None
    was_cancelled: bool = False
    lead_time: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    backend_ids: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class PullBatch:
    """What changed since the last pull. With ``complete=True`` ``annotations`` is everything, so any
    stored key not in it was deleted in the backend."""

    annotations: list[RawAnnotation]
    deleted: list[str] = field(default_factory=list)
    complete: bool = False
    #: where the next pull resumes; the backend keeps it in its own state
    cursor: str | None = None
    #: the same annotations as rows the workbench store already holds (a backend whose "server side"
    #: is a table of the store: the local one), a handle the store's own functions read
    #: (:func:`workbench.store.labels.copy_stored`): the engine may then copy them in SQL, converting
    #: each distinct result once, instead of one :class:`RawAnnotation` at a time. The store decides
    #: whether it can (else the engine reads ``annotations``); the results are the same either way.
    #: None (a backend over the network, Label Studio): ``annotations`` only.
    in_store: Any = None


class Backend(abc.ABC):
    name = ""

    @abc.abstractmethod
    def push(self, units: list["Unit"], prelabels: dict[str, "PreLabel"], overlaps: dict[str, int],
             record: Callable[[dict[str, str]], None]) -> dict[str, str]:
        """Send units not yet sent, each to be labeled by ``overlaps[unit]`` annotators; return
        ``{unit_id: backend task id}`` for the new ones. A backend that sends in batches calls
        ``record({unit_id: task id})`` after each, so a push cut off half way loses nothing. Called on
        every push, with no units when all are in: a backend brings what it keeps of the spec (what
        people are shown, say) up to date."""

    def set_overlaps(self, overlaps: dict[str, int]) -> None:
        """``{backend task id: n}``: tasks already sent should now collect ``n`` annotations (a new round)."""

    @abc.abstractmethod
    def simulate(self, crowd: list["SimulatedAnnotator"], queues: dict[str, list["Unit"]],
                 references: dict[str, "Label"], seed: int, limits: dict[str, int] | None = None) -> int:
        """Let the simulated annotators (``crowd``) work through their queues; ``queues`` holds every
        annotator's planned units, people's too. ``limits`` (passed only when set): ``{annotator: n}``,
        a persona stops once it has done ``n`` tasks of the campaign in all (gating judges between
        stages). Return how many labels were made."""

    #: True when only the workbench changes what the backend holds (no person labels there): a run
    #: with nothing changed in the store since the last one then has nothing to send, simulate or pull
    in_process: bool = False

    @abc.abstractmethod
    def pull(self, known: dict[str, dict[str, Any]]) -> PullBatch:
        """Annotations changed since the last pull (the cursor is in the backend's own state).
        ``known``: ``{key: backend_ids}`` of the annotations the store already has from this backend."""

    def simulated(self) -> PullBatch | None:
        """The annotations the last ``simulate`` made, as the backend stored them (no cursor: the next
        ``pull`` still reads everything changed), for gating to judge between the stages of a
        simulation without a whole pull; None (the default): a ``pull`` does it."""
        return None

    # ---- review (workbench.review) ---------------------------------------------------------------
    def push_review(self, tasks: list["ReviewTask"]) -> dict[tuple[str, str], str]:
        """Put ``tasks`` (a unit in front of a reviewer) in the review queue, each showing the text,
        its context, the votes and the consensus pre-selected; return ``{(unit, reviewer): task id}``.
        A task already in the queue is not sent again."""
        from ..errors import WorkbenchError

        raise WorkbenchError(f"backend {self.name!r} has no review queue")

    def simulate_review(self, reviewers: list["SimulatedAnnotator"], tasks: list["ReviewTask"],
                        references: dict[str, "Label"], seed: int) -> int:
        """Let the simulated reviewers answer their open review tasks; how many verdicts were made."""
        return 0

    def pull_review(self) -> list["RawVerdict"]:
        """Every verdict given in the review queue (the engine keeps the latest of each)."""
        return []

    def review_notes(self, people: list[str]) -> list[str]:
        """Lines for a person reviewer (``people``: their emails): where the review queue is."""
        return []

    def describe(self) -> dict[str, Any]:
        """What a user needs to know to reach the backend (URLs, how to log in)."""
        return {"backend": self.name}

    def forget(self) -> None:
        """Drop what this backend remembers about the campaign (its tasks stay wherever they are)."""

    def prepare(self, server_workers: int | None = None) -> None:
        """Make the backend reachable before a long run (the managed Label Studio starts here).
        ``server_workers``: for a backend that starts its own server, its worker processes (None: its default)."""

    def closing_notes(self) -> list[str]:
        """Lines for a person at the end of a run: where to go and how to log in (none: nothing to say)."""
        return []
