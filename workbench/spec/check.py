"""A whole spec checked against the loaded plugins, before any step runs or the store is touched.

Every name (task type, backend, aggregator, metric, export format, persona), every aggregator and
backend option, every export format's optional extra, the export settings (split ratios, filter
ranges) and each annotator's ``lean`` are checked here, so a mistake is found when the campaign is
opened, not after hours of labeling. The first mistake is one line naming the file and the field.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..errors import WorkbenchError
from . import CampaignSpec


def _fail(spec: CampaignSpec | None, field: str, message: str) -> WorkbenchError:
    return WorkbenchError(f"{spec.path}: {field}: {message}" if spec is not None else f"{field}: {message}")


def _get(spec: CampaignSpec, registry, kind: str, name: str, field: str):
    from ..registry import PluginError

    try:
        return registry.get(kind, name)
    except PluginError:
        raise  # a broken or clashing plugin is not the campaign file's fault
    except WorkbenchError as exc:
        raise _fail(spec, field, str(exc)) from None


def check_aggregation(spec: CampaignSpec | None, registry, method: str, options: dict, schema,
                      method_field: str = "aggregate.method", option_prefix: str = "aggregate."):
    """The method exists, fits the label kind, and knows (and accepts) every option. ``spec`` None:
    the method came from the command line (messages name the option, not a file)."""
    if method == "auto":
        if options:
            raise _fail(spec, f"{option_prefix}{sorted(options)[0]}",
                        "aggregate options need an explicit method (`auto` may pick one that does not know them)")
        return None
    field = method_field
    try:
        agg = registry.get("aggregators", method)
    except WorkbenchError as exc:
        raise _fail(spec, field, str(exc)) from None
    if schema is not None and schema.kind not in agg.kinds:
        kinds = ", ".join(sorted(k.value for k in agg.kinds))
        raise _fail(spec, field, f"aggregator {method!r} works on {kinds} labels, not {schema.kind.value}")
    if agg.options is not None:
        unknown = sorted(set(options) - set(agg.options))
        if unknown:
            known = ", ".join(agg.options) or "none"
            raise _fail(spec, f"{option_prefix}{unknown[0]}", f"unknown option for {method} (known: {known})")
    if agg.check is not None:
        try:
            agg.check(dict(options))
        except WorkbenchError as exc:
            raise _fail(spec, option_prefix.rstrip("."), str(exc)) from None
    return agg


def installed(module: str) -> bool:
    """Can ``module`` be imported (without importing it)?"""
    top = module.split(".")[0]
    if top in sys.modules:
        return sys.modules[top] is not None  # None: imports of it are blocked
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def check_exporters(spec: CampaignSpec, registry, formats, field: str = "export.formats") -> list:
    exporters = []
    for name in formats:
        exporter = _get(spec, registry, "exporters", name, field)
        missing = [m for m in exporter.requires if not installed(m)]
        if missing:
            extra = exporter.extra or name
            raise _fail(spec, field, f"format {name!r} needs the optional extra {extra!r} ({missing[0]} is not "
                                     f"installed): pip install 'workbench[{extra}]'")
        exporters.append(exporter)
    return exporters


def configured_task_type(spec: CampaignSpec, registry):
    """The spec's task type set up with its ``[task]`` table; a bad option is one line naming it."""
    from ..tasktype import TaskOptionError

    task_type = _get(spec, registry, "task_types", spec.task_type, "task_type")
    try:
        return task_type.configure(spec.task_options)
    except TaskOptionError as exc:
        raise _fail(spec, "task." + str(exc).split(": ", 1)[0], str(exc).split(": ", 1)[1]) from None


def validate(spec: CampaignSpec, registry, files: bool = True) -> None:
    """Raise the first mistake in ``spec`` as one line; ``files``: also check that its files exist."""
    from ..export.settings import resolve_settings

    task_type = configured_task_type(spec, registry)
    schema = task_type.schema
    backend = _get(spec, registry, "backends", spec.backend, "backend.name")
    missing = [m for m in backend.requires if not installed(m)]
    if missing:
        extra = backend.extra or spec.backend
        raise _fail(spec, "backend.name", f"backend {spec.backend!r} needs the optional extra {extra!r} ({missing[0]} "
                                          f"is not installed): pip install 'workbench[{extra}]'")
    if backend.check_options is not None:
        problems = backend.check_options(dict(spec.backend_options))
        if problems:
            field, problem = problems[0]
            raise _fail(spec, f"backend.{field}", problem)
    check_aggregation(spec, registry, spec.aggregate_method, spec.aggregate_options, schema)
    for m in spec.metrics:
        _get(spec, registry, "metrics", m, "metrics")
    check_exporters(spec, registry, spec.export_formats)
    resolve_settings(spec, {})  # every [export] setting: names, split ratios, filter ranges
    for i, a in enumerate(spec.annotators):
        if a.persona:
            _get(spec, registry, "annotators", a.persona, f"annotators[{i}].persona")
        if a.lean is not None and a.lean not in schema.labels:
            raise _fail(spec, f"annotators[{i}].lean", f"{a.lean!r} is not a label of task type "
                                                       f"{spec.task_type!r} (labels: {', '.join(schema.labels)})")
    check_models(spec, registry, task_type)
    for i, r in enumerate(spec.review.reviewers if spec.review else ()):
        if r.persona:
            _get(spec, registry, "annotators", r.persona, f"review.reviewers[{i}].persona")
    if files:
        check_files(spec)
        check_predictions(spec, schema)


def check_models(spec: CampaignSpec, registry, task_type) -> None:
    """Every ``[models]`` plugin model exists and labels this task type."""
    for i, name in enumerate(spec.models.plugins):
        model = _get(spec, registry, "models", name, f"models.plugins[{i}]")
        if model.task_types and spec.task_type not in model.task_types:
            raise _fail(spec, f"models.plugins[{i}]", f"model {name!r} labels task type(s) "
                                                      f"{', '.join(model.task_types)}, not {spec.task_type!r}")
        if model.kinds and task_type.schema.kind not in model.kinds:
            kinds = ", ".join(sorted(k.value for k in model.kinds))
            raise _fail(spec, f"models.plugins[{i}]", f"model {name!r} predicts {kinds} labels, not "
                                                      f"{task_type.schema.kind.value}")


def check_predictions(spec: CampaignSpec, schema) -> None:
    """Each ``[models]`` predictions file reads and its labels fit the schema (its unit ids are
    checked against the campaign's units when it aggregates)."""
    from ..predictions import read_predictions

    for name, file in spec.models.predictions:
        try:
            read_predictions(spec.resolve(file), schema)
        except WorkbenchError as exc:
            raise _fail(spec, f"models.predictions.{name}", str(exc)) from None


def check_files(spec: CampaignSpec) -> None:
    """The documents glob matches a file and the gold file exists (the rest is read by ``plan``)."""
    import glob as globlib

    pattern = spec.documents
    full = pattern if Path(pattern).is_absolute() else str(spec.base / pattern)
    if not any(Path(p).is_file() for p in globlib.iglob(full, recursive=True)):
        raise _fail(spec, "documents", f"the glob {pattern!r} (from {spec.base}) matches no file")
    if spec.gold_file:
        gold = spec.resolve(spec.gold_file)
        if not gold.is_file():
            raise _fail(spec, "gold.file", f"{gold} is not a file")
    for name, file in spec.models.predictions:
        path = spec.resolve(file)
        if not path.is_file():
            raise _fail(spec, f"models.predictions.{name}", f"{path} is not a file (a predictions file: "
                                                             "unit, label[, score] rows)")
