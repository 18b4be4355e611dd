"""Columnar writers: Parquet (pyarrow) and a Hugging Face ``datasets`` dataset saved to disk.

Both share one typed Arrow schema per label kind: labels are strings, lists of strings, or lists of
``{start, end, label}`` structs, and votes a list of ``{annotator, label}``. Both need optional
extras; a missing one is named in the error (``pip install 'workbench[parquet]'`` / ``[hf]``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from ..models import LabelKind
from .columns import json_lines
from .context import ExportContext
from .records import FIELDS, Records
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


#: records turned into Arrow at a time (their dicts are dropped after each batch)
BATCH = 8192


def arrow_table(records: Sequence[dict], context: ExportContext, each: Callable[[dict], Any] | None = None):
    """The records as one Arrow table, every column in one chunk (the layout ``Table.from_pylist`` of
    the whole list gives, so the files written from it are the same bytes), made ``BATCH`` records at
    a time: never every record as a dict at once. ``each(record)`` is called on every record, in
    order (another use of the same pass)."""
    pa = require("pyarrow", "parquet", "parquet")
    schema = arrow_schema(context.schema.kind, _meta(context))
    if isinstance(records, Records) and each is None:
        return columns_table(records.columns(), schema)
    if isinstance(records, list) and len(records) <= BATCH and each is None:
        return pa.Table.from_pylist(records, schema=schema)
    batches, chunk = [], []
    for r in records:
        if each is not None:
            each(r)
        chunk.append(r)
        if len(chunk) == BATCH:
            batches.append(pa.RecordBatch.from_pylist(chunk, schema=schema))
            chunk = []
    if chunk or not batches:
        batches.append(pa.RecordBatch.from_pylist(chunk, schema=schema))
    table = pa.Table.from_batches(batches, schema=schema)
    columns = table.columns
    del batches, chunk, table
    for i, column in enumerate(columns):  # one column at a time: at most one column held twice
        columns[i] = pa.chunked_array([column.combine_chunks()], type=schema.field(i).type)
        del column  # its chunks go now, not after the last column
    return pa.Table.from_arrays(columns, schema=schema)


def columns_table(columns: Mapping[str, Sequence], schema):
    """A table of every column in one chunk (as :func:`arrow_table` makes it), each column converted
    from its Python values at once: no record made as a dict."""
    import pyarrow as pa

    arrays = []
    for i, name in enumerate(schema.names):
        values = columns[name]
        array = pa.array(values if isinstance(values, list) else list(values), type=schema.field(i).type)
        del values
        if isinstance(array, pa.ChunkedArray):  # more than one chunk can hold (over 2 GB of text)
            array = array.combine_chunks()
        arrays.append(pa.chunked_array([array], type=schema.field(i).type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(records: Sequence[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    pq = require("pyarrow.parquet", "parquet", "parquet")
    try:
        pq.write_table(arrow_table(records, context), path, compression="zstd")
    finally:
        _release()


def _release() -> None:
    """Give the table's memory back to the system (Arrow's allocator keeps freed memory for reuse:
    the size of the table, for nothing, while the other formats are written)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _fingerprint(records: Iterable[dict]) -> str:
    """sha256 of ``json.dumps(records, sort_keys=True, ensure_ascii=False)``, hashed record by record
    (the same bytes: a list is ``[``, its items joined by ``, ``, ``]``) instead of one string of every
    record (as large as the JSONL export: hundreds of MB on a million units, twice with its bytes)."""
    # datasets would otherwise make a random fingerprint, and the saved state.json would differ
    fp = _Fingerprint()
    for r in records:
        fp.add(r)
    return fp.digest()


def _column_fingerprint(columns: Mapping[str, Sequence]) -> str:
    """:func:`_fingerprint` of the records of ``columns`` (the same JSON texts, laid out from columns)."""
    h = hashlib.sha256(b"[")
    first = True
    for texts in json_lines(columns, sort_keys=True):
        if texts:
            h.update((", ".join(texts) if first else ", " + ", ".join(texts)).encode())
            first = False
    h.update(b"]")
    return h.hexdigest()[:16]


class _Fingerprint:
    """:func:`_fingerprint`, fed a record at a time."""

    def __init__(self):
        self._h = hashlib.sha256(b"[")
        self._dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
        self._first = True

    def add(self, record: dict) -> None:
        if not self._first:
            self._h.update(b", ")
        self._first = False
        self._h.update(self._dumps(record).encode())

    def digest(self) -> str:
        h = self._h.copy()
        h.update(b"]")
        return h.hexdigest()[:16]


def write_hf(records: Sequence[dict], path: Path, *, context: ExportContext, **_kw) -> None:
    """A ``DatasetDict`` (one dataset per split) or, without a split, one ``Dataset``: ``load_from_disk``."""
    datasets = require("datasets", "hf", "hf")
    require("pyarrow", "hf", "hf")
    datasets.disable_progress_bars()
    table_schema = arrow_schema(context.schema.kind, _meta(context))
    features = datasets.Features.from_arrow_schema(table_schema)

    def dataset(table, digest: str, split: str | None):
        info = datasets.DatasetInfo(description=context.description or f"workbench campaign {context.campaign}",
                                    features=features)
        return datasets.Dataset(table, info=info, split=datasets.NamedSplit(split) if split else None,
                                fingerprint=digest)

    if isinstance(records, Records):  # from the selection's columns, a split at a time
        columns = records.columns()
        splits = columns["split"]
        present = set(splits)

        def made(split: str | None):
            part = columns if split is None else _Taken(columns, [k for k, s in enumerate(splits) if s == split])
            return dataset(columns_table(part, table_schema), _column_fingerprint(part), split)

        try:
            if present <= {None}:  # no split (or no record)
                made(None).save_to_disk(str(path))
            else:
                _save_splits(datasets, path, [s for s in SPLITS if s in present], made)
        finally:
            _release()
        return

    def make(rows: Sequence[dict], split: str | None):
        fp = _Fingerprint()
        table = arrow_table(rows, context, each=fp.add)  # one pass over the records for both
        return dataset(table, fp.digest(), split)

    split_of = [r["split"] for r in records]
    if all(s is None for s in split_of):
        data = make(records, None)
    else:
        def part(name: str) -> Sequence[dict]:
            return [records[k] for k, s in enumerate(split_of) if s == name]

        data = datasets.DatasetDict({s: make(part(s), s) for s in SPLITS if s in split_of})
    try:
        data.save_to_disk(str(path))
    finally:
        del data
        _release()


def _save_splits(datasets, path: Path, names: list[str], made: Callable[[str], Any]) -> None:
    """What ``DatasetDict.save_to_disk`` writes (``dataset_dict.json`` naming the splits, then each
    split's dataset in its folder), each split's dataset made when it is saved and dropped after:
    one split's table held at a time instead of every split's."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path / datasets.config.DATASETDICT_JSON_FILENAME, "w", encoding="utf-8") as fh:
        json.dump({"splits": names}, fh)
    for name in names:
        data = made(name)
        data.save_to_disk(str(path / name))
        del data
        _release()


class _Taken(Mapping[str, Sequence]):
    """The columns of the records at ``at`` (positions in ``columns``), each column's values taken
    when it is read, a column (or a block of it) at a time: no copy of every column of a split."""

    def __init__(self, columns: dict[str, list], at: list[int]):
        self._columns, self._at = columns, at

    def __getitem__(self, name: str) -> "_TakenColumn":
        return _TakenColumn(self._columns[name], self._at)

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


class _TakenColumn(Sequence):
    """``[column[k] for k in at]``, made when read (whole, or a slice of it)."""

    def __init__(self, column: list, at: list[int]):
        self._column, self._at = column, at

    def __len__(self) -> int:
        return len(self._at)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return list(map(self._column.__getitem__, self._at[k]))
        return self._column[self._at[k]]

    def __iter__(self) -> Iterator:
        return map(self._column.__getitem__, self._at)
