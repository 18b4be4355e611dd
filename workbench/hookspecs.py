"""Every hook a workbench plugin can implement.

All hooks are registration hooks: each receives a ``register`` callback owned by the core, so the
core can reject duplicate names and record which plugin provided what. Hooks only ever gain
arguments, never lose them (pluggy lets an implementation accept fewer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .plugin import Aggregator, BackendType, Exporter, Metric, Model
    from .simulate import Persona
    from .tasktype import TaskType

hookspec = pluggy.HookspecMarker("workbench")
hookimpl = pluggy.HookimplMarker("workbench")

#: the ``register`` callback each hook receives, typed per hook
RegisterTaskType = Callable[["TaskType"], None]
RegisterPersona = Callable[["Persona"], None]
RegisterAggregator = Callable[["Aggregator"], None]
RegisterMetric = Callable[["Metric"], None]
RegisterExporter = Callable[["Exporter"], None]
RegisterBackend = Callable[["BackendType"], None]
RegisterModel = Callable[["Model"], None]


@hookspec
def register_task_types(register: RegisterTaskType) -> None:
    """Register task types: ``register(task_type)`` with a :class:`workbench.api.TaskType`.

    A task type names its label schema and Label Studio config, cuts documents into units,
    converts Label Studio results to normalized labels and back, and may pre-label units.
    """


@hookspec
def register_annotators(register: RegisterPersona) -> None:
    """Register simulated annotator personas: ``register(persona)`` with a
    :class:`workbench.api.Persona` (a template; campaigns instantiate it per annotator)."""


@hookspec
def register_aggregators(register: RegisterAggregator) -> None:
    """Register aggregation methods: ``register(aggregator)`` with a
    :class:`workbench.api.Aggregator` that turns the long ``(unit, annotator, label)``
    table into one label per unit."""


@hookspec
def register_metrics(register: RegisterMetric) -> None:
    """Register agreement / quality metrics: ``register(metric)`` with a
    :class:`workbench.api.Metric` computed from the long table."""


@hookspec
def register_exporters(register: RegisterExporter) -> None:
    """Register export formats: ``register(exporter)`` with a
    :class:`workbench.api.Exporter` that writes curated records to a file."""


@hookspec
def register_backends(register: RegisterBackend) -> None:
    """Register annotation backends: ``register(backend)`` with a
    :class:`workbench.api.BackendType` whose factory builds a backend for a campaign."""


@hookspec
def register_models(register: RegisterModel) -> None:
    """Register models: ``register(model)`` with a :class:`workbench.api.Model` that predicts a
    label (and a score) per unit. A campaign that names it in ``[models] plugins`` counts its
    answers in aggregation as an annotator of its own (``model:<name>``), whose confusion the
    method estimates like anyone's."""


@hookspec
def register_commands(cli: "click.Group") -> None:
    """Add commands to the ``workbench`` command line: ``@cli.command()`` or ``cli.add_command(...)``.

    Called once when the command line is built; a backend adds the commands its users need (the
    Label Studio backend adds ``server`` and ``invite``). A command name already taken is an error
    naming both plugins."""
