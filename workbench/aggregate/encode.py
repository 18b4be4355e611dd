"""Integer codes for the long ``(unit, annotator, label)`` table, made once per call.

Every categorical aggregator and metric works on three int arrays (unit, annotator, class per row)
and numpy. This module builds them, checks the labels on the way (NaN, outside the schema,
the same annotator twice on a unit: one clear line each) and gives the shared sparse design
matrix that turns EM steps into two sparse products.

Units keep the order in which they first appear in the table. When the rows of a unit are
contiguous (the usual layout, one block of rows per unit), the codes come from comparing
neighbouring rows instead of hashing every row, which is most of the encoding time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema, label_key


@dataclass
class Encoded:
    """A categorical label table as integer codes (one entry per row)."""

    unit: np.ndarray  # int64 codes into ``unit_names``
    annotator: np.ndarray  # int64 codes into ``annotator_names``
    label: np.ndarray  # int64 codes into ``classes``
    unit_names: pd.Series  # first-appearance order
    annotator_names: pd.Series  # first-appearance order (empty when annotators were not encoded)
    classes: list  # label values; their order is the tie-break order
    _design: Any = field(default=None, repr=False)
    _per_unit: Any = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.unit)

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_names)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Units x classes vote counts (or sums of per-row ``weights``)."""
        k = self.n_classes
        flat = np.bincount(self.unit * k + self.label, weights=weights, minlength=self.n_units * k)
        return flat.reshape(self.n_units, k).astype(float, copy=False)

    def per_unit(self) -> np.ndarray:
        """Labels per unit (computed once)."""
        if self._per_unit is None:
            self._per_unit = np.bincount(self.unit, minlength=self.n_units)
        return self._per_unit

    def per_annotator(self) -> np.ndarray:
        return np.bincount(self.annotator, minlength=self.n_annotators)

    def design(self):
        """Sparse units x (annotator, class) matrix with a 1 per row of the table.

        ``design() @ M`` sums, per unit, the rows of ``M`` indexed by ``annotator * K + label``;
        ``design().T @ P`` sums unit rows of ``P`` per (annotator, label): the E and M steps.
        """
        if self._design is None:
            from scipy import sparse

            col = self.annotator * self.n_classes + self.label
            shape = (self.n_units, self.n_annotators * self.n_classes)
            if _is_sorted(self.unit):  # rows already in unit order: the CSR arrays as they are
                indptr = np.zeros(self.n_units + 1, dtype=np.int64)
                np.cumsum(self.per_unit(), out=indptr[1:])
                self._design = sparse.csr_matrix((np.ones(len(col)), col, indptr), shape=shape)
            else:  # scipy's COO -> CSR is a counting sort: linear, unlike argsort
                self._design = sparse.csr_matrix((np.ones(len(col)), (self.unit, col)), shape=shape)
        return self._design

    def gold_codes(self, gold: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """(unit codes, class codes) of the gold labels whose unit is in the table."""
        if not gold:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.flatnonzero(self.unit_names.isin(list(gold.keys())).to_numpy())
        cls = {c: i for i, c in enumerate(self.classes)}
        labels = np.array([cls.get(gold[k], -1) for k in self.unit_names.iloc[pos]], dtype=np.int64)
        keep = labels >= 0
        return pos[keep].astype(np.int64), labels[keep]


def _block_sizes(codes: np.ndarray) -> np.ndarray | None:
    """Rows per unit when each unit's rows are one contiguous block (codes never go down), else None."""
    if not _is_sorted(codes):
        return None
    return np.bincount(codes)


def _is_sorted(codes: np.ndarray) -> bool:
    return bool(len(codes) < 2 or (codes[1:] >= codes[:-1]).all())


def check_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with workbench's column names (crowd-kit's ``task, worker`` are renamed)."""
    if "unit" not in table.columns and "task" in table.columns:
        table = table.rename(columns={"task": "unit"})
    if "annotator" not in table.columns and "worker" in table.columns:
        table = table.rename(columns={"worker": "annotator"})
    missing = {"unit", "annotator", "label"} - set(table.columns)
    if missing:
        raise WorkbenchError(
            f"label table: missing column(s) {', '.join(sorted(missing))} "
            "(expected unit, annotator, label, or crowd-kit's task, worker, label)")
    return table


def factorize_units(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and names in first-appearance order; fast when each unit's rows are contiguous."""
    if len(col) == 0:
        return np.zeros(0, dtype=np.int64), pd.Series([], dtype=object)
    change = _neighbours_differ(col)
    # many runs means the rows are not grouped by unit: checking the run heads would cost as much
    # as hashing every row, so go straight to that
    if change is not None and np.count_nonzero(change) < len(col) // 2:
        starts = np.flatnonzero(np.concatenate(([True], change)))
        heads = pd.Series(col.array.take(starts))
        # each unit is one block of rows when no two blocks share a name: then a unit's code is
        # its block number. Names in increasing order cannot repeat, which is cheaper to see
        # than hashing them all (tables sorted by unit id, numbered ids such as t9 < t10 included)
        if _strictly_increasing(heads) or heads.is_unique:
            return np.cumsum(np.concatenate(([0], change)), dtype=np.int64), heads
    codes, names = pd.factorize(col, sort=False)
    return codes.astype(np.int64, copy=False), pd.Series(names)


def _strictly_increasing(values: pd.Series) -> bool:
    """Each value sorts after the one before it: numbers by value, strings by (length, text)."""
    if len(values) < 2:
        return True
    if values.dtype.kind in "iu":
        v = values.to_numpy()
        return bool((v[1:] > v[:-1]).all())
    if not _arrow_backed(values):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    v = pa.array(values)
    a, b = v.slice(0, len(v) - 1), v.slice(1)
    la, lb = pc.utf8_length(a), pc.utf8_length(b)
    after = pc.or_(pc.less(la, lb), pc.and_(pc.equal(la, lb), pc.less(a, b)))
    return bool(pc.all(after).as_py())


def _neighbours_differ(col: pd.Series) -> np.ndarray | None:
    """Row i+1 differs from row i, for string or integer columns; None for other dtypes."""
    dtype = col.dtype
    if _arrow_backed(col):
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(col)  # zero-copy for Arrow-backed columns
        out = pc.not_equal(values.slice(1), values.slice(0, len(col) - 1))
        return np.asarray(out.to_numpy(zero_copy_only=False) if hasattr(out, "to_numpy") else out, dtype=bool)
    if dtype.kind in "iu":
        values = col.to_numpy()
        return values[1:] != values[:-1]
    if dtype == object and isinstance(col.iloc[0], str):
        values = col.to_numpy()
        return np.asarray(values[1:] != values[:-1], dtype=bool)
    return None  # tuples, mixed objects: hash them instead


def _arrow_backed(col: pd.Series) -> bool:
    dtype = col.dtype
    return isinstance(dtype, pd.ArrowDtype) or (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")


def class_order(schema: LabelSchema, labels: pd.Series) -> list:
    """The classes of a categorical table, in tie-break order.

    single/ordinal: the schema's labels. multi: the label sets that occur, ordered by the
    schema positions of their members (the empty set first).
    """
    if schema.categorical:
        return list(schema.labels)
    position = {label: i for i, label in enumerate(schema.labels)}
    seen = pd.unique(labels.dropna())
    sets = [x for x in seen if isinstance(x, tuple) and all(_hashable(v) and v in position for v in x)]
    return sorted(set(sets), key=lambda t: tuple(position.get(x, len(position)) for x in t))


def label_codes(labels: pd.Series, classes: list) -> np.ndarray:
    """Class index per row; -1 for a missing label, -2 for one that is not a class."""
    if _arrow_backed(labels) and classes and all(isinstance(c, str) for c in classes):
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(labels)
        found = pc.index_in(values, value_set=pa.array(classes, type=pa.string()))
        codes = np.asarray(pc.fill_null(found, -2).to_numpy(zero_copy_only=False), dtype=np.int64)
        if values.null_count:
            codes[np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)] = -1
        return codes
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    index = {c: i for i, c in enumerate(classes)}
    lut = np.array([index.get(u, -2) if _hashable(u) else -2 for u in uniques] + [-1], dtype=np.int64)
    return lut[codes]  # code -1 (NaN) picks the trailing -1


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def encode(table: pd.DataFrame, schema: LabelSchema, what: str = "label table",
           annotators: bool = True) -> Encoded:
    """Integer codes for a single, ordinal or multi table; raises WorkbenchError on bad rows.

    ``annotators=False`` skips the annotator codes and the one-label-per-annotator-and-unit
    check, for methods that only count votes (majority): the campaign store and the CLI's file
    loader already guarantee that rule.
    """
    if schema.kind is LabelKind.SPANS:
        raise WorkbenchError(f"{what}: span labels are not categories; use a span method")
    table = check_table(table)
    labels = table["label"]
    classes = class_order(schema, labels)
    for column in ("unit", "annotator") if annotators else ("unit",):
        if table[column].isna().any():
            i = int(np.flatnonzero(table[column].isna().to_numpy())[0])
            raise WorkbenchError(f"{what}: row {i + 1}: {column} is missing (NaN)")

    def other_columns():
        y = label_codes(labels, classes)
        if not annotators:
            return y, None, None
        a, names = pd.factorize(table["annotator"], sort=False)
        return y, a.astype(np.int64, copy=False), pd.Series(names)

    # the columns are independent and Arrow's kernels release the GIL: on a big table the labels
    # and annotators are coded in a second thread while this one codes the units
    pending = _pool().submit(other_columns) if len(table) >= PARALLEL_ROWS else None
    y, a, annotator_names = other_columns() if pending is None else (None, None, None)
    u, unit_names = factorize_units(table["unit"])
    if pending is not None:
        y, a, annotator_names = pending.result()
    bad = np.flatnonzero(y < 0)
    if len(bad):
        i = int(bad[0])
        unit, annotator, value = table["unit"].iloc[i], table["annotator"].iloc[i], labels.iloc[i]
        where = f"{what}: row {i + 1} (unit {unit!r}, annotator {annotator!r})"
        more = f" (and {len(bad) - 1} more row(s))" if len(bad) > 1 else ""
        if y[i] == -1:
            raise WorkbenchError(f"{where}: label is missing (NaN){more}")
        expected = f"one of {list(schema.labels)}" if schema.categorical else f"a set of {list(schema.labels)}"
        raise WorkbenchError(f"{where}: label {_show(value)} is not {expected}{more}")
    if not annotators:
        return Encoded(u, np.zeros(0, dtype=np.int64), y, unit_names, pd.Series([], dtype=object), classes)
    enc = Encoded(u, a, y, unit_names, annotator_names, classes)
    _reject_duplicates(enc, what)
    return enc


#: tables at least this long code their columns in two threads
PARALLEL_ROWS = 100_000
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-encode")
    return _POOL


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, tuple) else label_key(value)


def _reject_duplicates(enc: Encoded, what: str) -> None:
    """An annotator counted twice on one unit would get two votes: refuse, naming the pair."""
    if enc.n_rows < 2:
        return
    key = enc.unit * enc.n_annotators + enc.annotator
    block = _block_sizes(enc.unit)
    if block is not None and block.max() <= 64:
        # rows of a unit are contiguous: compare each row with the next few of its own block
        u, a = enc.unit, enc.annotator
        dup = any(bool(((u[d:] == u[:-d]) & (a[d:] == a[:-d])).any()) for d in range(1, int(block.max())))
    elif enc.n_units * enc.n_annotators <= 64_000_000:  # a bitmap of (unit, annotator) cells
        seen = np.zeros(enc.n_units * enc.n_annotators, dtype=bool)
        seen[key] = True
        dup = np.count_nonzero(seen) < enc.n_rows
    else:
        dup = bool(pd.Series(key).duplicated().any())
    if dup:
        i = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        raise WorkbenchError(
            f"{what}: row {i + 1}: annotator {enc.annotator_names.iloc[enc.annotator[i]]!r} labeled unit "
            f"{enc.unit_names.iloc[enc.unit[i]]!r} more than once (keep one label per annotator and unit)")
