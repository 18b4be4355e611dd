"""What an exporter is told besides the records: the campaign, its task type, its schema, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..models import LabelSchema
from .settings import ExportSettings


@dataclass(frozen=True)
class ExportContext:
    """Passed to every exporter as ``write(records, path, context=...)``: plain values, never the
    engine. Read it as attributes (``context.schema``) or, as exporters written for workbench 0.1 did,
    as a mapping (``context["schema"]``)."""

    campaign: str
    schema: LabelSchema
    settings: ExportSettings = field(default_factory=ExportSettings)
    task_type: str = ""
    description: str = ""
    task_options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in {f.name for f in fields(self)} else default
