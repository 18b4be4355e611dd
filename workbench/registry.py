"""Loads plugins and keeps what each one registered.

Plugins come through the ``workbench`` entry-point group (built-in and outside plugins alike) and
the core's own default plugin modules. Each ``register_*`` hook gets a callback owned by the
:class:`Registry`, which rejects duplicate names and remembers who provided what.

Environment:
- ``WORKBENCH_LOAD_PLUGINS``: comma-separated entry-point names to load (empty: none); unset: all.
- ``WORKBENCH_TRACE_PLUGINS=1``: print every hook call and what it registered to stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .errors import WorkbenchError
from .models import LabelKind

DEFAULT_PLUGINS = (
    "workbench.default_plugins.annotators",
    "workbench.default_plugins.aggregators",
    "workbench.default_plugins.metrics",
    "workbench.default_plugins.exporters",
    "workbench.default_plugins.backends",
)

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
    """

    name: str
    suffix: str
    write: Callable[..., None]
    description: str = ""
    #: modules the writer imports, and the extra that installs them (checked when a spec is read)
    requires: tuple[str, ...] = ()
    extra: str | None = None


@dataclass(frozen=True)
class BackendType:
    """A place annotators work: ``factory(context)`` returns a :class:`~workbench.backends.Backend`."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    #: ``check_options(options)`` -> ``[(field, problem)]`` for the spec's ``[backend]`` table
    check_options: Callable[[dict], list[tuple[str, str]]] | None = None


KINDS = {
    "task_types": "register_task_types",
    "annotators": "register_annotators",
    "aggregators": "register_aggregators",
    "metrics": "register_metrics",
    "exporters": "register_exporters",
    "backends": "register_backends",
}

SINGULAR = {
    "task_types": "task type",
    "annotators": "annotator persona",
    "aggregators": "aggregator",
    "metrics": "metric",
    "exporters": "export format",
    "backends": "backend",
}


@dataclass
class Entry:
    obj: Any
    plugin: str
    overrides: str | None = None


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    pm: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    default_plugin_names: frozenset = frozenset()
    trace: bool = False

    def get(self, kind: str, name: str) -> Any:
        table = self._table(kind)
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise WorkbenchError(f"unknown {SINGULAR[kind]} {name!r} (known: {known})")
        return table[name].obj

    def names(self, kind: str) -> list[str]:
        return sorted(self._table(kind))

    def all(self, kind: str) -> dict[str, Any]:
        return {name: e.obj for name, e in sorted(self._table(kind).items())}

    def _table(self, kind: str) -> dict[str, Entry]:
        if kind not in self.entries:
            self.entries[kind] = self._collect(kind)
        return self.entries[kind]

    def _collect(self, kind: str) -> dict[str, Entry]:
        table: dict[str, Entry] = {}
        hook = getattr(self.pm.hook, KINDS[kind])
        for impl in reversed(hook.get_hookimpls()):  # pluggy's call order: tryfirst ... trylast
            plugin = impl.plugin_name
            is_default = plugin in self.default_plugin_names

            def register(obj, _plugin=plugin, _default=is_default):
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise WorkbenchError(f"plugin {_plugin!r} registered a {SINGULAR[kind]} without a name")
                if name in table:
                    prior = table[name]
                    if _default and prior.plugin not in self.default_plugin_names:
                        prior.overrides = _plugin  # an outside plugin replaces a core default
                        return
                    raise WorkbenchError(
                        f"duplicate {SINGULAR[kind]} {name!r}: registered by {prior.plugin!r} and {_plugin!r}"
                    )
                table[name] = Entry(obj, _plugin)
                if self.trace:
                    sys.stderr.write(f"workbench: {_plugin} registered {SINGULAR[kind]} {name!r}\n")

            if self.trace:
                sys.stderr.write(f"workbench: calling {KINDS[kind]} of {plugin}\n")
            offered = {"register": register}  # hooks only gain arguments; an impl takes what it names
            impl.function(**{arg: offered[arg] for arg in impl.argnames})
        return table

    def plugins(self) -> list[dict]:
        """What each loaded plugin registered, for ``workbench plugins``."""
        out = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda p: p[0]):
            if plugin is None:
                continue
            provided = {}
            for kind in KINDS:
                names = [n for n, e in self._table(kind).items() if e.plugin == name]
                if names:
                    provided[kind] = sorted(names)
            dist = self.pm.get_plugin(name)
            out.append(
                {
                    "name": name,
                    "default": name in self.default_plugin_names,
                    "version": _plugin_version(self.pm, dist),
                    "hooks": sorted(h.name for h in self.pm.get_hookcallers(dist) or []),
                    "provides": provided,
                }
            )
        return out


def _plugin_version(pm: pluggy.PluginManager, plugin: Any) -> str | None:
    for p, dist in pm.list_plugin_distinfo():
        if p is plugin:
            return dist.version
    return getattr(plugin, "__version__", None)


def plugin_version(registry: Registry, kind: str, name: str) -> tuple[str, str | None]:
    """(plugin name, version) of whatever provided ``name``."""
    entry = registry._table(kind)[name]
    return entry.plugin, _plugin_version(registry.pm, registry.pm.get_plugin(entry.plugin))


def make_registry(
    extra_plugins: Iterable[Any] = (),
    load_entrypoints: bool | None = None,
) -> Registry:
    """Build a plugin manager with the defaults, installed plugins and ``extra_plugins``."""
    import importlib

    pm = pluggy.PluginManager("workbench")
    pm.add_hookspecs(hookspecs)
    for mod_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(mod_name), name=mod_name)
    selected = os.environ.get("WORKBENCH_LOAD_PLUGINS")
    if load_entrypoints is None:
        load_entrypoints = True
    if load_entrypoints:
        wanted = None if selected is None else [s.strip() for s in selected.split(",") if s.strip()]
        try:
            if wanted is None:
                pm.load_setuptools_entrypoints("workbench")
            else:
                for name in wanted:
                    pm.load_setuptools_entrypoints("workbench", name=name)
        except Exception as exc:  # a broken plugin should say who it is, not crash with a traceback
            raise WorkbenchError(f"a workbench plugin failed to load: {exc}") from exc
    for plugin in extra_plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None))
    # the core calls each implementation itself (to know who registered what), so it traces too
    trace = bool(os.environ.get("WORKBENCH_TRACE_PLUGINS"))
    return Registry(pm=pm, default_plugin_names=frozenset(DEFAULT_PLUGINS), trace=trace)


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built once on first use (nothing loads at import time)."""
    global _registry
    if _registry is None:
        _registry = make_registry()
    return _registry


def reset_registry(registry: Registry | None = None) -> None:
    global _registry
    _registry = registry
