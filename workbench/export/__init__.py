"""Export: the aggregated campaign as a curated dataset, with a data card, written by registered exporters.

records (one per aggregated unit, votes under pseudonyms) -> curation filters -> train/dev/test split
grouped by document -> every requested format and a ``README.md`` data card, staged and moved into
place only when all of them were written. The same stored state always gives the same files. This
package works on records and tables; the export step (:mod:`workbench.steps.export`) feeds it.
"""

from __future__ import annotations

from .files import atomic_write
from .filters import apply_filters
from .records import FIELDS, build_records, pseudonym
from .settings import ExportSettings, resolve_settings

__all__ = ["FIELDS", "ExportSettings", "apply_filters", "atomic_write", "build_records", "pseudonym",
           "resolve_settings"]
