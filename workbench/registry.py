"""Loads plugins and keeps what each one registered, and what each one broke.

Plugins come through the ``workbench`` entry-point group (built-in and outside plugins alike) and
the core's own default plugin modules. Each ``register_*`` hook gets a callback owned by the
:class:`Registry`, which rejects duplicate names and remembers who provided what.

A plugin that fails (at import, in a hook, or by registering a name another plugin has) is
recorded with its distribution and entry point, and left out: everything else keeps working, and
whatever needs the broken plugin says why in one line (:class:`PluginError`). Code a plugin runs
later (a task type cutting a document, an aggregator, an exporter) runs under :meth:`Registry.guard`,
which turns its exceptions into one line naming the plugin, what it was doing and on what.

Environment:
- ``WORKBENCH_LOAD_PLUGINS``: comma-separated entry-point names to load (empty: none); unset: all.
- ``WORKBENCH_TRACE_PLUGINS=1``: print every hook call and what it registered to stderr, and the
  full traceback of a plugin's failure (as ``workbench --traceback`` does).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import pluggy

from . import hookspecs
from .errors import WorkbenchError
from .plugin import Aggregator, BackendType, Exporter, Metric, Model

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .simulate import Persona
    from .tasktype import TaskType

DEFAULT_PLUGINS = (
    "workbench.default_plugins.annotators",
    "workbench.default_plugins.aggregators",
    "workbench.default_plugins.metrics",
    "workbench.default_plugins.exporters",
    "workbench.default_plugins.backends",
    "workbench.backends.labelstudio.plugin",
)

KINDS = {
    "task_types": "register_task_types",
    "annotators": "register_annotators",
    "aggregators": "register_aggregators",
    "metrics": "register_metrics",
    "exporters": "register_exporters",
    "backends": "register_backends",
    "models": "register_models",
}

SINGULAR = {
    "task_types": "task type",
    "annotators": "annotator persona",
    "aggregators": "aggregator",
    "metrics": "metric",
    "exporters": "export format",
    "backends": "backend",
    "models": "model",
}


class PluginError(WorkbenchError):
    """A plugin failed: the message names it (and its distribution), what it did and on what."""


def tracing() -> bool:
    return bool(os.environ.get("WORKBENCH_TRACE_PLUGINS"))


@dataclass
class Entry:
    obj: Any
    plugin: str
    overrides: str | None = None


@dataclass
class Failure:
    """A plugin that could not be used, and why."""

    plugin: str  # its name: the entry point's, or the module's
    where: str  # "import", or the hook that failed
    error: str  # one line
    distribution: str | None = None  # "workbench-topics 1.0.0"
    entry_point: str | None = None  # "topics = workbench_topics"
    trace: str = ""

    def line(self) -> str:
        source = f" ({self.distribution}, entry point {self.entry_point})" if self.distribution else ""
        return f"plugin {self.plugin!r}{source} failed in {self.where}: {self.error}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    pm: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    default_plugin_names: frozenset = frozenset()
    trace: bool = False
    failures: list[Failure] = field(default_factory=list)
    #: plugin name -> (distribution name, version, entry point) for entry-point plugins
    dists: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: (kind, name) -> the plugins that both registered it
    clashes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Any:
        table = self._table(kind)
        if (kind, name) in self.clashes:
            a, b = sorted(self.clashes[(kind, name)])[:2]
            raise PluginError(f"{SINGULAR[kind]} {name!r} is registered by two plugins, {self._who(a)} and "
                              f"{self._who(b)}: uninstall one of them (or select plugins with WORKBENCH_LOAD_PLUGINS)")
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            broken = [f.line() for f in self.failures if f.where in ("import", KINDS[kind])]
            hint = f"; {'; '.join(broken)}" if broken else ""
            raise WorkbenchError(f"unknown {SINGULAR[kind]} {name!r} (known: {known}){hint}")
        return table[name].obj

    # typed getters (``get`` returns whatever the kind holds)
    def task_type(self, name: str) -> "TaskType":
        return self.get("task_types", name)

    def persona(self, name: str) -> "Persona":
        return self.get("annotators", name)

    def aggregator(self, name: str) -> Aggregator:
        return self.get("aggregators", name)

    def metric(self, name: str) -> Metric:
        return self.get("metrics", name)

    def exporter(self, name: str) -> Exporter:
        return self.get("exporters", name)

    def backend(self, name: str) -> BackendType:
        return self.get("backends", name)

    def model(self, name: str) -> Model:
        return self.get("models", name)

    def names(self, kind: str) -> list[str]:
        return sorted(self._table(kind))

    def all(self, kind: str) -> dict[str, Any]:
        return {name: e.obj for name, e in sorted(self._table(kind).items())}

    def _table(self, kind: str) -> dict[str, Entry]:
        if kind not in self.entries:
            self.entries[kind] = self._collect(kind)
        return self.entries[kind]

    def _who(self, plugin: str) -> str:
        dist = self.dists.get(plugin)
        return f"{plugin!r} ({dist[0]} {dist[1]})" if dist else repr(plugin)

    def _fail(self, plugin: str, where: str, exc: BaseException) -> None:
        dist = self.dists.get(plugin)
        failure = Failure(plugin, where, _one_line(exc), f"{dist[0]} {dist[1]}" if dist else None,
                          dist[2] if dist else None, traceback.format_exc())
        if any(f.line() == failure.line() for f in self.failures):
            return  # the same failure again (the command line is built once per invocation)
        self.failures.append(failure)
        if self.trace:
            sys.stderr.write(failure.trace)

    def _collect(self, kind: str) -> dict[str, Entry]:
        table: dict[str, Entry] = {}
        hook = getattr(self.pm.hook, KINDS[kind])
        for impl in reversed(hook.get_hookimpls()):  # pluggy's call order: tryfirst ... trylast
            plugin = impl.plugin_name
            is_default = plugin in self.default_plugin_names
            mine: dict[str, Entry] = {}

            def register(obj, _plugin=plugin, _default=is_default, _mine=mine):
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {_plugin!r} registered a {SINGULAR[kind]} without a name")
                if name in table or name in _mine:
                    prior = table.get(name) or _mine[name]
                    if _default and prior.plugin not in self.default_plugin_names:
                        prior.overrides = _plugin  # an outside plugin replaces a core default
                        return
                    self.clashes.setdefault((kind, name), [prior.plugin]).append(_plugin)
                    return
                _mine[name] = Entry(obj, _plugin)
                if self.trace:
                    sys.stderr.write(f"workbench: {_plugin} registered {SINGULAR[kind]} {name!r}\n")

            if self.trace:
                sys.stderr.write(f"workbench: calling {KINDS[kind]} of {plugin}\n")
            offered = {"register": register}  # hooks only gain arguments; an impl takes what it names
            try:
                impl.function(**{arg: offered[arg] for arg in impl.argnames})
            except Exception as exc:  # noqa: BLE001 - a plugin's bug: recorded, the plugin left out
                self._fail(plugin, KINDS[kind], exc)
                continue
            table.update(mine)
        return table

    def add_commands(self, cli: "click.Group") -> None:
        """Let plugins add commands (``register_commands``); a clash or a failure is recorded."""
        for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):
            before = dict(cli.commands)
            try:
                impl.function(**{arg: {"cli": cli}[arg] for arg in impl.argnames})
            except Exception as exc:  # noqa: BLE001
                self._fail(impl.plugin_name, "register_commands", exc)
                cli.commands.clear()
                cli.commands.update(before)
                continue
            taken = sorted(n for n in before if cli.commands.get(n) is not before[n])
            if taken:
                cli.commands.update({n: before[n] for n in taken})
                self._fail(impl.plugin_name, "register_commands",
                           PluginError(f"command {taken[0]!r} is taken (by workbench or another plugin)"))

    @contextlib.contextmanager
    def guard(self, kind: str, name: str, what: str) -> Iterator[None]:
        """Run a plugin's code: an exception in it becomes a PluginError naming the plugin, ``what``
        it was doing (say, "units() on document 003") and the error; a WorkbenchError passes as is."""
        try:
            yield
        except WorkbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything a plugin's code may raise
            entry = self._table(kind).get(name)
            plugin = entry.plugin if entry else "?"
            dist = self.dists.get(plugin)
            source = f" ({dist[0]} {dist[1]})" if dist else ""
            raise PluginError(f"plugin {plugin!r}{source}: {SINGULAR[kind]} {name!r}: {what} failed: "
                              f"{_one_line(exc)}") from exc

    def plugins(self) -> list[dict]:
        """What each loaded plugin registered, for ``workbench plugins``; broken ones with why."""
        out = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda p: p[0]):
            if plugin is None:
                continue
            provided = {}
            for kind in KINDS:
                names = [n for n, e in self._table(kind).items() if e.plugin == name]
                if names:
                    provided[kind] = sorted(names)
            out.append({
                "name": name,
                "default": name in self.default_plugin_names,
                "version": self.version_of(name),
                "hooks": sorted(h.name for h in self.pm.get_hookcallers(plugin) or []),
                "provides": provided,
                "errors": [f.line() for f in self.failures if f.plugin == name],
            })
        loaded = {p["name"] for p in out}
        for f in self.failures:
            if f.plugin not in loaded:
                loaded.add(f.plugin)
                out.append({"name": f.plugin, "default": False,
                            "version": (self.dists.get(f.plugin) or (None, None))[1], "hooks": [], "provides": {},
                            "errors": [x.line() for x in self.failures if x.plugin == f.plugin]})
        return out

    def version_of(self, plugin_name: str) -> str | None:
        if plugin_name in self.dists:
            return self.dists[plugin_name][1]
        return getattr(self.pm.get_plugin(plugin_name), "__version__", None)


def plugin_version(registry: Registry, kind: str, name: str) -> tuple[str, str | None]:
    """(plugin name, version) of whatever provided ``name``."""
    entry = registry._table(kind)[name]
    return entry.plugin, registry.version_of(entry.plugin)


def make_registry(
    extra_plugins: Iterable[Any] = (),
    load_entrypoints: bool | None = None,
) -> Registry:
    """Build a plugin manager with the defaults, installed plugins and ``extra_plugins``."""
    import importlib
    import importlib.metadata

    pm = pluggy.PluginManager("workbench")
    pm.add_hookspecs(hookspecs)
    for mod_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(mod_name), name=mod_name)
    registry = Registry(pm=pm, default_plugin_names=frozenset(DEFAULT_PLUGINS), trace=tracing())
    selected = os.environ.get("WORKBENCH_LOAD_PLUGINS")
    wanted = None if selected is None else {s.strip() for s in selected.split(",") if s.strip()}
    if load_entrypoints is None or load_entrypoints:
        for dist in importlib.metadata.distributions():
            for ep in dist.entry_points:
                if ep.group != "workbench" or (wanted is not None and ep.name not in wanted) \
                        or pm.has_plugin(ep.name):
                    continue
                registry.dists[ep.name] = (dist.metadata["Name"], dist.version, f"{ep.name} = {ep.value}")
                try:
                    plugin = ep.load()
                    pm.register(plugin, name=ep.name)
                except Exception as exc:  # noqa: BLE001 - a broken plugin is named, the rest still load
                    registry._fail(ep.name, "import", exc)
    for plugin in extra_plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None))
    return registry


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
