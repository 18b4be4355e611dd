"""What a plugin registers, one record type per kind: aggregators, metrics, export formats, backends,
models.

(Task types subclass :class:`workbench.tasktype.TaskType`; personas are
:class:`workbench.simulate.Persona`.) Plugin authors import these from :mod:`workbench.api`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .models import LabelKind

if TYPE_CHECKING:  # pragma: no cover
    from .models import PreLabel, Unit
    from .tasktype import TaskType

ALL_KINDS = frozenset(LabelKind)


@dataclass(frozen=True)
class Aggregator:
    """An aggregation method.

    ``func(table, schema, *, gold=None, units=None, **options)`` receives the long table
    ``(unit, annotator, label)``, the task's :class:`~workbench.models.LabelSchema`, known gold
    labels ``{unit: label}`` and units ``{unit: Unit}``, and returns an
    :class:`~workbench.aggregate.AggregateResult`.
    """

    name: str
    func: Callable[..., Any]
    description: str = ""
    kinds: frozenset = ALL_KINDS
    #: the option names ``func`` accepts (None: not declared, any option is passed through)
    options: tuple[str, ...] | None = None
    #: ``check(options)`` raises WorkbenchError for a bad value, so a spec is checked before any step
    check: Callable[[dict], None] | None = None


@dataclass(frozen=True)
class Metric:
    """An agreement or quality measure.

    ``func(table, schema, *, units=None, consensus=None, gold=None)`` returns a
    :class:`~workbench.agreement.MetricResult`.
    """

    name: str
    func: Callable[..., Any]
    description: str = ""
    kinds: frozenset = ALL_KINDS


@dataclass(frozen=True)
class Exporter:
    """An export format: ``write(records, path, *, context)`` writes curated records to ``path``.

    ``path`` is the final file name (``<dir>/<stem>.<suffix>``); the core handles atomic renames.
    ``records`` is a list of dicts, unless the exporter says ``streaming=True``: then it is a
    read-only sequence (``len``, iteration as often as needed, ``records[i]``, slices) whose records
    are made as they are read, so a million of them are never in memory at once.
    """

    name: str
    suffix: str
    write: Callable[..., None]
    description: str = ""
    #: modules the writer imports, and the extra that installs them (checked when a spec is read)
    requires: tuple[str, ...] = ()
    extra: str | None = None
    #: ``write`` takes the records as a read-only sequence made on reading (see above), not a list
    streaming: bool = False


@dataclass(frozen=True)
class BackendType:
    """A place annotators work: ``factory(context)`` returns a :class:`~workbench.backends.Backend`."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    #: ``check_options(options)`` -> ``[(field, problem)]`` for the spec's ``[backend]`` table
    check_options: Callable[[dict], list[tuple[str, str]]] | None = None
    #: modules the backend imports, and the extra that installs them (checked when a spec is read)
    requires: tuple[str, ...] = ()
    extra: str | None = None


@dataclass(frozen=True)
class Model:
    """A model that labels units, to vote in aggregation as an annotator of its own.

    ``predict(units, task_type)`` receives the campaign's units (a sequence of
    :class:`~workbench.models.Unit`) and its configured task type, and returns one
    :class:`~workbench.models.PreLabel` (label and a score in 0..1) or None (no answer) per unit,
    in order. A campaign names the model in its ``[models]`` table (``plugins = ["name"]``); it
    votes as annotator ``model:<name>``. It should be deterministic: the consensus is recomputed
    from it whenever the campaign aggregates.
    """

    name: str
    predict: Callable[[Sequence["Unit"], "TaskType"], Sequence["PreLabel | None"]]
    description: str = ""
    #: the task types it labels (empty: any whose label kind is in ``kinds``)
    task_types: tuple[str, ...] = ()
    kinds: frozenset = ALL_KINDS
