"""Everything a workbench plugin author needs, from one module.

```python
from workbench.api import LabelKind, LabelSchema, PreLabel, TaskOption, TaskType, hookimpl
```

The built-in plugins (``plugins/``) and the core's own default plugins import from here exactly as an
outside plugin does; what is here is the plugin API, kept stable (hooks only ever gain arguments).
See ``docs/writing-plugins.md``.
"""

from __future__ import annotations

from .aggregate import AggregateResult
from .agreement import MetricResult
from .backends import Backend, BackendContext, PullBatch, RawAnnotation
from .cli.common import State as CommandState
from .cli.common import emit_json, pass_state
from .errors import WorkbenchError
from .export.context import ExportContext
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
from .segment import Sentence, sentences
from .simulate import Persona
from .tasktype import REQUIRED, TaskOption, TaskOptionError, TaskType

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
