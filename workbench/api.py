"""Everything a workbench plugin author needs, from one module.

```python
from workbench.api import LabelKind, LabelSchema, PreLabel, TaskOption, TaskType, hookimpl
```

The built-in plugins (``plugins/``) and the core's own default plugins import from here exactly as an
outside plugin does; what is here is the plugin API, kept stable (hooks only ever gain arguments).
See ``docs/writing-plugins.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import WorkbenchError
from .hookspecs import (
    RegisterAggregator,
    RegisterBackend,
    RegisterExporter,
    RegisterMetric,
    RegisterModel,
    RegisterPersona,
    RegisterTaskType,
    hookimpl,
)
from .models import (
    Annotation,
    AnnotationStatus,
    Document,
    Label,
    LabelError,
    LabelKind,
    LabelSchema,
    PreLabel,
    Span,
    Unit,
    label_key,
    label_to_json,
    unit_id,
)
from .plugin import Aggregator, BackendType, Exporter, Metric, Model

if TYPE_CHECKING:  # pragma: no cover - the names below are imported when first used (see __getattr__)
    from .aggregate import AggregateResult
    from .agreement import MetricResult
    from .backends import Backend, BackendContext, PullBatch, RawAnnotation
    from .cli.common import State as CommandState
    from .cli.common import emit_json, pass_state
    from .export.context import ExportContext
    from .segment import Sentence, sentences
    from .simulate import Persona
    from .tasktype import REQUIRED, TaskOption, TaskOptionError, TaskType

#: names whose modules pull numpy, pandas or rich: imported on first use, so a plugin that only
#: registers hooks (and ``workbench --help``, which loads every plugin) does not pay for them
_LAZY = {
    "AggregateResult": ("aggregate", "AggregateResult"), "MetricResult": ("agreement", "MetricResult"),
    "Backend": ("backends", "Backend"), "BackendContext": ("backends", "BackendContext"),
    "PullBatch": ("backends", "PullBatch"), "RawAnnotation": ("backends", "RawAnnotation"),
    "CommandState": ("cli.common", "State"), "emit_json": ("cli.common", "emit_json"),
    "pass_state": ("cli.common", "pass_state"), "ExportContext": ("export.context", "ExportContext"),
    "Sentence": ("segment", "Sentence"), "sentences": ("segment", "sentences"), "Persona": ("simulate", "Persona"),
    "REQUIRED": ("tasktype", "REQUIRED"), "TaskOption": ("tasktype", "TaskOption"),
    "TaskOptionError": ("tasktype", "TaskOptionError"), "TaskType": ("tasktype", "TaskType"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench.api' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(import_module(f"workbench.{module}"), attr)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    # hooks
    "hookimpl", "RegisterTaskType", "RegisterPersona", "RegisterAggregator", "RegisterMetric", "RegisterExporter",
    "RegisterBackend", "RegisterModel",
    # the data model
    "Document", "Unit", "Label", "LabelKind", "LabelSchema", "LabelError", "Span", "PreLabel", "Annotation",
    "AnnotationStatus", "unit_id", "label_key", "label_to_json",
    # task types
    "TaskType", "TaskOption", "TaskOptionError", "REQUIRED", "sentences", "Sentence",
    # what plugins register
    "Persona", "Aggregator", "AggregateResult", "Metric", "MetricResult", "Exporter", "ExportContext",
    "BackendType", "Backend", "BackendContext", "RawAnnotation", "PullBatch", "Model",
    # commands (register_commands): the CLI's state (home, store, open a campaign) and JSON output
    "CommandState", "pass_state", "emit_json",
    # errors
    "WorkbenchError",
]
