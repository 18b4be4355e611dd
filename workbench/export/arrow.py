"""Columnar writers: Parquet (pyarrow) and a Hugging Face ``datasets`` dataset saved to disk.

Both share one typed Arrow schema per label kind: labels are strings, lists of strings, or lists of
``{start, end, label}`` structs, and votes a list of ``{annotator, label}``. Both need optional
extras; a missing one is named in the error (``pip install 'workbench[parquet]'`` / ``[hf]``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from ..models import LabelKind
from .context import ExportContext
from .records import FIELDS
from .settings import SPLITS


def require(module: str, extra: str, fmt: str):
    """Import an optional dependency, or say which extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise WorkbenchError(
            f"export format {fmt!r} needs the optional extra {extra!r} ({module.split('.')[0]} is not installed): "
            f"pip install 'workbench[{extra}]'") from None


def arrow_schema(kind: LabelKind, meta: dict[str, Any] | None = None):
    pa = require("pyarrow", "parquet", "parquet")
    if kind is LabelKind.SPANS:
        label = pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())]))
    elif kind is LabelKind.MULTI:
        label = pa.list_(pa.string())
    else:
        label = pa.string()
    types = {
        "start": pa.int64(), "end": pa.int64(), "label": label, "gold_label": label,
        "confidence": pa.float64(), "agreement": pa.float64(), "n_annotations": pa.int64(),
        "votes": pa.list_(pa.struct([("annotator", pa.string()), ("label", label)])),
        "model_votes": pa.list_(pa.struct([("model", pa.string()), ("label", label), ("score", pa.float64())])),
        "tie": pa.bool_(), "review": pa.bool_(), "is_gold": pa.bool_(), "review_reasons": pa.list_(pa.string()),
        "reviewed_by": pa.list_(pa.string()),
    }
    fields = [pa.field(name, types.get(name, pa.string())) for name in FIELDS]
    metadata = {b"workbench": json.dumps(meta, sort_keys=True).encode()} if meta else None
    return pa.schema(fields, metadata=metadata)


def _meta(context: ExportContext) -> dict[str, Any]:
    schema = context.schema
    return {"campaign": context.campaign, "label_kind": schema.kind.value, "labels": list(schema.labels)}


def arrow_table(records: list[dict], context: ExportContext):
    pa = require("pyarrow", "parquet", "parquet")
    return pa.Table.from_pylist(records, schema=arrow_schema(context.schema.kind, _meta(context)))


def write_parquet(records: list[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    pq = require("pyarrow.parquet", "parquet", "parquet")
    pq.write_table(arrow_table(records, context), path, compression="zstd")


def _fingerprint(records: list[dict]) -> str:
    """sha256 of ``json.dumps(records, sort_keys=True, ensure_ascii=False)``, hashed record by record
    (the same bytes: a list is ``[``, its items joined by ``, ``, ``]``) instead of one string of every
    record (as large as the JSONL export: hundreds of MB on a million units, twice with its bytes)."""
    # datasets would otherwise make a random fingerprint, and the saved state.json would differ
    h = hashlib.sha256(b"[")
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    for i, r in enumerate(records):
        if i:
            h.update(b", ")
        h.update(dumps(r).encode())
    h.update(b"]")
    return h.hexdigest()[:16]


def write_hf(records: list[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    """A ``DatasetDict`` (one dataset per split) or, without a split, one ``Dataset``: ``load_from_disk``."""
    datasets = require("datasets", "hf", "hf")
    require("pyarrow", "hf", "hf")
    datasets.disable_progress_bars()
    table_schema = arrow_schema(context.schema.kind, _meta(context))
    features = datasets.Features.from_arrow_schema(table_schema)

    def make(rows: list[dict], split: str | None):
        info = datasets.DatasetInfo(description=context.description or f"workbench campaign {context.campaign}",
                                    features=features)
        table = arrow_table(rows, context)
        return datasets.Dataset(table, info=info, split=datasets.NamedSplit(split) if split else None,
                                fingerprint=_fingerprint(rows))

    if all(r["split"] is None for r in records):
        data = make(records, None)
    else:
        data = datasets.DatasetDict({s: make([r for r in records if r["split"] == s], s) for s in SPLITS
                                     if any(r["split"] == s for r in records)})
    data.save_to_disk(str(path))
