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
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema, label_key, with_long_columns


@dataclass
class Encoded:
    """A categorical label table as integer codes (one entry per row)."""

    unit: np.ndarray  # int64 codes into ``unit_names``
    annotator: np.ndarray  # int64 codes into ``annotator_names``
    # codes into ``classes``, in the smallest signed type that holds them (int8 for up to 127
    # classes): a quarter of the memory traffic of int64. Widen before multiplying by a count.
    label: np.ndarray
    unit_names: pd.Series  # first-appearance order
    annotator_names: pd.Series  # first-appearance order (empty when annotators were not encoded)
    classes: list  # label values; their order is the tie-break order
    _design: Any = field(default=None, repr=False)
    _per_unit: Any = field(default=None, repr=False)
    _votes: Any = field(default=None, repr=False)  # classes x units int counts, when encode() made them
    _annotator_pairs: Any = field(default=None, repr=False)  # see workbench.agreement.annotator_pairs
    _references: Any = field(default=None, repr=False)  # see workbench.agreement.quality.reference_codes
    _unit_index: Any = field(default=None, repr=False)  # see unit_index()

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
        # class-major (each class's column contiguous): the row-wise loops over the few class
        # columns (row_argmax, row_sum) then read contiguous memory
        if weights is not None:
            n = self.n_units
            flat = np.bincount(self.label.astype(np.int64) * n + self.unit, weights=weights,
                               minlength=n * self.n_classes)
            return flat.reshape(self.n_classes, n).T
        return self._vote_table().astype(float).T  # a new array each call: callers may change it

    def _vote_table(self) -> np.ndarray:
        """Classes x units int vote counts (made once), and the votes per unit with them."""
        if self._votes is None:
            self._votes = _vote_counts(self.unit, self.label, self.n_units, self.n_classes)
        if self._per_unit is None:  # the votes per unit, for free
            self._per_unit = self._votes.sum(axis=0)
        return self._votes

    def shares(self) -> np.ndarray:
        """Units x classes share of each unit's votes (counts / votes per unit)."""
        return (self._vote_table() / self._per_unit).T  # no float copy of the counts first

    def per_unit(self) -> np.ndarray:
        """Labels per unit (computed once)."""
        if self._per_unit is None:
            self._per_unit = np.bincount(self.unit, minlength=self.n_units)
        return self._per_unit

    def unit_index(self) -> pd.Index:
        """``unit_names`` as a pandas Index, made once: its hash table, built by the first
        ``get_indexer``, then serves every look-up of unit ids in this table (gold, consensus)."""
        if self._unit_index is None:
            self._unit_index = pd.Index(self.unit_names)
        return self._unit_index

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


def factorize_units(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and names in first-appearance order; fast when each unit's rows are contiguous."""
    codes, names, _ = _factorize_units(col)
    return codes, names


def _factorize_units(col: pd.Series, meanwhile: Callable[[np.ndarray, int], Any] | None = None
                     ) -> tuple[np.ndarray, pd.Series, Any]:
    """:func:`factorize_units`, plus ``meanwhile(codes, n_units)`` run while the names are checked.

    On contiguous units the codes are block numbers, right once no two blocks share a name; that
    check (taking the block heads and comparing them) runs in the worker thread while this one
    calls ``meanwhile`` with the codes, so work that needs only the codes overlaps it. Its result
    is returned when the codes held, else None (then the codes came from hashing every row).
    """
    if len(col) == 0:
        return np.zeros(0, dtype=np.int64), pd.Series([], dtype=object), None
    dictionary = dictionary_codes(col)
    if dictionary is not None:  # pandas categorical or Arrow dictionary: work on the integer codes
        codes, categories = dictionary
        u, heads, done = _factorize_units(pd.Series(codes, copy=False), meanwhile)
        return u, pd.Series(categories.take(heads.to_numpy())), done
    change = _neighbours_differ(col)
    # many runs means the rows are not grouped by unit: checking the run heads would cost as much
    # as hashing every row, so go straight to that
    n_changes = np.count_nonzero(change) if change is not None else len(col)
    if n_changes < len(col) // 2:
        if meanwhile is None:
            heads = _unique_heads(col, change)
            if heads is not None:
                return _block_numbers(change), heads, None
        else:
            checking = _pool().submit(_unique_heads, col, change)
            codes = _block_numbers(change)
            done = meanwhile(codes, n_changes + 1)
            heads = checking.result()
            if heads is not None:
                return codes, heads, done
    codes, names = pd.factorize(col, sort=False)
    return codes.astype(np.int64, copy=False), pd.Series(names), None


def _take_sorted(values, rows: np.ndarray):
    """``values.take(rows)`` for increasing ``rows``, one chunk at a time: a chunked array's own
    ``take`` first concatenates all its chunks."""
    import pyarrow as pa

    if not isinstance(values, pa.ChunkedArray) or values.num_chunks < 2:
        return values.take(rows)
    ends = np.cumsum([len(c) for c in values.chunks])
    cut = np.searchsorted(rows, ends)  # rows[cut[i-1]:cut[i]] fall in chunk i
    parts, lo, first = [], 0, 0
    for chunk, end, hi in zip(values.chunks, ends, cut):
        parts.append(chunk.take(rows[lo:hi] - first))
        lo, first = hi, end
    return pa.chunked_array(parts, type=values.type)


def _block_numbers(change: np.ndarray) -> np.ndarray:
    """Per row, how many times the value changed before it (row 0 is block 0)."""
    codes = np.empty(len(change) + 1, dtype=np.int64)
    codes[0] = 0
    np.cumsum(change, out=codes[1:])
    return codes


def _unique_heads(col: pd.Series, change: np.ndarray) -> pd.Series | None:
    """The first name of each block of equal names (``change``: row i+1 differs from row i)
    when no two blocks share a name, else None."""
    starts = np.flatnonzero(np.concatenate(([True], change)))
    if _arrow_backed(col):  # take the heads in Arrow: no pandas indexing machinery per call
        import pyarrow as pa

        heads = pd.Series(_take_sorted(pa.array(col), starts), dtype=col.dtype)
    else:
        heads = pd.Series(col.array.take(starts))
    # each unit is one block of rows when no two blocks share a name: then a unit's code is
    # its block number. Names in increasing order cannot repeat, which is cheaper to see
    # than hashing them all (tables sorted by unit id, numbered ids such as t9 < t10 included)
    if _strictly_increasing(heads):
        return heads
    if heads.dtype.kind in "iu" and len(heads):  # integers (dictionary codes): count them
        v = heads.to_numpy()
        low, high = int(v.min()), int(v.max())
        if high - low < 4 * len(v) + 1024:
            return heads if np.bincount(v.astype(np.int64) - low).max() <= 1 else None
    return heads if heads.is_unique else None


def _strictly_increasing(values: pd.Series) -> bool:
    """Each value sorts after the one before it: numbers by value, strings by (byte length, bytes).

    Any strict order will do (increasing means no repeats); byte lengths need no UTF-8 decoding.
    """
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
    la, lb = pc.binary_length(a), pc.binary_length(b)
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
        if out.null_count == 0:
            return _bits(out)
        return np.asarray(out.to_numpy(zero_copy_only=False), dtype=bool)
    if dtype.kind in "iu":
        values = col.to_numpy()
        return values[1:] != values[:-1]
    if dtype == object and isinstance(col.iloc[0], str):
        values = col.to_numpy()
        return np.asarray(values[1:] != values[:-1], dtype=bool)
    return None  # tuples, mixed objects: hash them instead


def _bits(values) -> np.ndarray:
    """A null-free Arrow boolean (chunked) array as numpy bools: its bitmaps unpacked, about ten
    times faster than ``to_numpy``, which goes through Python-level conversion of bitmaps."""
    import pyarrow as pa

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [np.zeros(0, dtype=np.uint8)]
    for chunk in chunks:
        if len(chunk):
            bitmap = np.frombuffer(chunk.buffers()[1], dtype=np.uint8)
            parts.append(np.unpackbits(bitmap, count=chunk.offset + len(chunk), bitorder="little")[chunk.offset:])
    return np.concatenate(parts).view(bool)


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
    """Class index per row (in :func:`code_dtype`); -1 for a missing label, -2 for one that is not a class."""
    dictionary = dictionary_codes(labels)
    if dictionary is not None:  # categorical or Arrow dictionary: look up each category once
        codes, categories = dictionary
        return np.take(_class_lookup(categories, classes), codes)
    if _arrow_backed(labels) and classes and all(isinstance(c, str) for c in classes):
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(labels)
        short = _short_label_codes(values, classes)
        if short is not None:
            return short
        found = pc.index_in(values, value_set=pa.array(classes, type=pa.string()))
        codes = np.asarray(pc.fill_null(found, -2).to_numpy(zero_copy_only=False), dtype=code_dtype(len(classes)))
        if values.null_count:
            codes[np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)] = -1
        return codes
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    return np.take(_class_lookup(uniques, classes), codes)


def _class_lookup(values, classes: list) -> np.ndarray:
    """Class code of each of ``values`` (-2 for one that is not a class), then a trailing -1:
    taking this table at a code of -1 (a missing value) gives -1."""
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(v, -2) if _hashable(v) else -2 for v in values] + [-1],
                    dtype=code_dtype(len(classes)))


def dictionary_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """(codes, categories) of a pandas categorical or Arrow dictionary column, codes -1 where
    missing; None for other columns. No value is hashed: the codes are already there."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), dtype.categories
    if not isinstance(dtype, pd.ArrowDtype):
        return None
    import pyarrow as pa

    if not pa.types.is_dictionary(dtype.pyarrow_dtype):
        return None
    values = pa.array(col)
    chunks = values.unify_dictionaries().chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not chunks:
        return np.zeros(0, dtype=np.int64), pd.Index([])
    parts = [np.zeros(0, dtype=np.int64)]
    for chunk in chunks:
        parts.append(np.asarray(chunk.indices.fill_null(-1).to_numpy(), dtype=np.int64))
    return np.concatenate(parts), pd.Index(chunks[0].dictionary.to_pandas())


def code_dtype(n_classes: int) -> np.dtype:
    """The smallest signed integer type for class codes 0..n-1 and the markers -1 and -2."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_classes <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _short_label_codes(values, classes: list[str]) -> np.ndarray | None:
    """Class codes read straight from Arrow's buffers when every label is 1 or 2 bytes long.

    Labels such as ``A``/``B`` or ``c0``/``c1``: with one width throughout, the data buffer is a
    plain array of 1- or 2-byte integers, and a lookup table indexed by those integers gives the
    class (-2 for any other value) in one gather, against a hash probe per row for ``index_in``.
    None when the labels are of other or mixed widths, or some are missing.
    """
    import pyarrow as pa

    if values.null_count or not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return None
    chunks = [c for c in (values.chunks if isinstance(values, pa.ChunkedArray) else [values]) if len(c)]
    if not chunks:
        return None
    width = _first_width(chunks[0])
    if width not in (1, 2):
        return None
    lut = np.full(256 ** width, -2, dtype=code_dtype(len(classes)))  # int8: a quarter of int64's traffic
    for i, c in enumerate(classes):
        raw = c.encode("utf-8")
        if len(raw) == width:
            lut[int.from_bytes(raw, "little")] = i
    out = np.empty(len(values), dtype=lut.dtype)
    at = 0
    for chunk in chunks:
        n = len(chunk)
        _, offsets_buf, data_buf = chunk.buffers()
        odt = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
        offsets = np.frombuffer(offsets_buf, dtype=odt, count=n + 1, offset=chunk.offset * odt.itemsize)
        # every row exactly `width` bytes: the offsets step by `width` from the first one
        if offsets[-1] - offsets[0] != n * width or not (np.diff(offsets) == width).all():
            return None
        data = np.frombuffer(data_buf, dtype=np.uint8, count=n * width, offset=int(offsets[0]))
        out[at:at + n] = np.take(lut, data.view(f"<u{width}"))  # np.take: about twice as fast as lut[...]
        at += n
    return out


def _first_width(chunk) -> int:
    """Byte length of a non-empty string array's first value."""
    import pyarrow as pa

    odt = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    offsets = np.frombuffer(chunk.buffers()[1], dtype=odt, count=2, offset=chunk.offset * odt.itemsize)
    return int(offsets[1] - offsets[0])


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


_CACHE: dict | None = None  # the codes made inside `with shared_codes():`, by the columns they came from


@contextmanager
def shared_codes() -> Iterator[None]:
    """Inside this block, :func:`encode` codes a table once: every metric, aggregator and quality
    measure called on the same columns (the same arrays, even under other column names) gets the
    same :class:`Encoded` instead of hashing a million ids again. The caller promises not to change
    the tables in place inside the block; the codes are dropped when it ends. Blocks nest."""
    global _CACHE
    outer = _CACHE
    if outer is None:
        _CACHE = {}
    try:
        yield
    finally:
        if outer is None:
            _CACHE = None


def shared_result(key: tuple, keep: tuple, make: Callable[[], Any]) -> Any:
    """``make()``, made once per ``key`` inside :func:`shared_codes` (always made outside it). ``keep``:
    the objects whose ids are in ``key``, held as long as the result so that the ids stay theirs."""
    if _CACHE is None:
        return make()
    hit = _CACHE.get(("result", *key))
    if hit is None:
        hit = _CACHE[("result", *key)] = (make(), keep)
    return hit[0]


def _column_id(col: pd.Series) -> tuple | None:
    """An id of a column's data (and the object that keeps it alive), or None when there is none
    cheap to take (categoricals, mixed blocks): such tables are then coded each time."""
    arr = col.array
    data = getattr(arr, "_pa_array", None)  # Arrow-backed: the same ChunkedArray under any name
    if data is not None:
        return ("arrow", id(data)), data
    if col.dtype == object or col.dtype.kind in "iub":
        values = col.to_numpy()  # a view of the block: its address names the data
        return ("numpy", values.__array_interface__["data"][0], values.strides, values.dtype.str), values
    return None


def encode(table: pd.DataFrame, schema: LabelSchema, what: str = "label table",
           annotators: bool = True) -> Encoded:
    """Integer codes for a single, ordinal or multi table; raises WorkbenchError on bad rows.

    ``annotators=False`` skips the annotator codes and the one-label-per-annotator-and-unit
    check, for methods that only count votes (majority): the campaign store and the CLI's file
    loader already guarantee that rule. Inside :func:`shared_codes`, a table's codes are made once.
    """
    if schema.kind is LabelKind.SPANS:
        raise WorkbenchError(f"{what}: span labels are not categories; use a span method")
    table = with_long_columns(table)
    if _CACHE is None:
        return _encode(table, schema, what, annotators)
    ids = [_column_id(table[c]) for c in ("unit", "annotator", "label")]
    if any(i is None for i in ids):
        return _encode(table, schema, what, annotators)
    key = (len(table), schema, *(i[0] for i in ids))
    for flag in (True,) if annotators else (True, False):
        hit = _CACHE.get((*key, flag))
        if hit is not None:
            return hit[0]
    enc = _encode(table, schema, what, annotators)
    _CACHE[(*key, annotators)] = (enc, [i[1] for i in ids])  # the arrays stay alive: their ids stay theirs
    return enc


def encoded_already(table: pd.DataFrame, schema: LabelSchema) -> Encoded | None:
    """The codes :func:`encode` made for ``table`` inside :func:`shared_codes`, if it has made them
    (with annotators); None otherwise. Codes nothing and raises nothing."""
    if _CACHE is None or schema.kind is LabelKind.SPANS:
        return None
    try:
        table = with_long_columns(table)
    except WorkbenchError:
        return None
    ids = [_column_id(table[c]) for c in ("unit", "annotator", "label")]
    if any(i is None for i in ids):
        return None
    hit = _CACHE.get((len(table), schema, *(i[0] for i in ids), True))
    return None if hit is None else hit[0]


def _encode(table: pd.DataFrame, schema: LabelSchema, what: str, annotators: bool) -> Encoded:
    labels = table["label"]
    classes = class_order(schema, labels)
    reject_missing_ids(table, ("unit", "annotator") if annotators else ("unit",), what)

    def other_columns():
        y = label_codes(labels, classes)
        # raise here (in the worker thread, on big tables) on a bad label; a minimum is one pass
        # with no index array, and most tables have no bad row to locate
        if len(y) and y.min() < 0:
            _bad_label(table, y, schema, what)
        if not annotators:
            return y, None, None
        a, names = pd.factorize(table["annotator"], sort=False)
        return y, a.astype(np.int64, copy=False), pd.Series(names)

    # the columns are independent and Arrow's kernels release the GIL: on a big table the labels
    # and annotators are coded in a second thread while this one codes the units
    pending = _pool().submit(other_columns) if len(table) >= PARALLEL_ROWS else None
    y, a, annotator_names = other_columns() if pending is None else (None, None, None)
    votes = None
    if pending is None:
        u, unit_names = factorize_units(table["unit"])
    else:
        def meanwhile(u, n_units):
            # vote counting (annotators=False) needs only unit and label codes: count while the
            # worker thread checks the unit names
            coded = pending.result()
            return coded, None if annotators else _vote_counts(u, coded[0], n_units, len(classes))

        u, unit_names, done = _factorize_units(table["unit"], meanwhile)
        (y, a, annotator_names), votes = done if done is not None else (pending.result(), None)
    if not annotators:
        return Encoded(u, np.zeros(0, dtype=np.int64), y, unit_names, pd.Series([], dtype=object), classes,
                       _votes=votes)
    enc = Encoded(u, a, y, unit_names, annotator_names, classes)
    _reject_duplicates(enc, what)
    return enc


def reject_missing_ids(table: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Raise, naming the first row, when a unit or annotator id is missing (NaN)."""
    for column in columns:
        missing = table[column].isna()
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            raise WorkbenchError(f"{what}: row {i + 1}: {column} is missing (NaN)")


def _bad_label(table: pd.DataFrame, y: np.ndarray, schema: LabelSchema, what: str) -> None:
    """Raise for the first row whose label code is negative (missing or not a class)."""
    labels = table["label"]
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


def _vote_counts(unit: np.ndarray, label: np.ndarray, n_units: int, n_classes: int) -> np.ndarray:
    """Classes x units vote counts (int): each class's row contiguous."""
    key = label.astype(np.int64)  # int8 codes times n_units would overflow
    key *= n_units
    key += unit
    return np.bincount(key, minlength=n_units * n_classes).reshape(n_classes, n_units)


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
        # (equal keys: the same unit and the same annotator)
        dup = any(bool((key[d:] == key[:-d]).any()) for d in range(1, int(block.max())))
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
