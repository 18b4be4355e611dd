"""Every hook a workbench plugin can implement.

All hooks are registration hooks: each receives a ``register`` callback owned by the core, so the
core can reject duplicate names and record which plugin provided what. Hooks only ever gain
arguments, never lose them (pluggy lets an implementation accept fewer).
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("workbench")
hookimpl = pluggy.HookimplMarker("workbench")


@hookspec
def register_task_types(register: Callable) -> None:
    """Register task types: ``register(task_type)`` with a :class:`workbench.tasktype.TaskType`.

    A task type names its label schema and Label Studio config, cuts documents into units,
    converts Label Studio results to normalized labels and back, and may pre-label units.
    """


@hookspec
def register_annotators(register: Callable) -> None:
    """Register simulated annotator personas: ``register(persona)`` with a
    :class:`workbench.simulate.Persona` (a template; campaigns instantiate it per annotator)."""


@hookspec
def register_aggregators(register: Callable) -> None:
    """Register aggregation methods: ``register(aggregator)`` with a
    :class:`workbench.registry.Aggregator` that turns the long ``(unit, annotator, label)``
    table into one label per unit."""


@hookspec
def register_metrics(register: Callable) -> None:
    """Register agreement / quality metrics: ``register(metric)`` with a
    :class:`workbench.registry.Metric` computed from the long table."""


@hookspec
def register_exporters(register: Callable) -> None:
    """Register export formats: ``register(exporter)`` with a
    :class:`workbench.registry.Exporter` that writes curated records to a file."""


@hookspec
def register_backends(register: Callable) -> None:
    """Register annotation backends: ``register(backend)`` with a
    :class:`workbench.registry.BackendType` whose factory builds a backend for a campaign."""
