"""Agreement and annotator quality, computed from the long ``(unit, annotator, label)`` table.

Metrics are registered through ``register_metrics``; each returns a :class:`MetricResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema, label_key, with_long_columns


@dataclass
class MetricResult:
    """``value`` is None when the measure is undefined for the data; ``note`` then says why."""

    name: str
    value: float | None
    note: str | None = None
    detail: Any = None


def plain_number(value: Any, digits: int | None = None) -> Any:
    """A figure as plain Python for JSON, cards and reports: None for None or NaN (a missing figure
    is said, never printed as NaN), numpy scalars unwrapped, floats rounded to ``digits`` when
    given; other values (ints, text) as they are."""
    if value is None:
        return None
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else (round(value, digits) if digits is not None else value)
    return value


def undefined(name: str, why: str, detail: Any = None) -> MetricResult:
    """A measure that the data cannot support: value None and the reason, never a silent NaN."""
    return MetricResult(name, None, why, detail)


def count_matrix(table: pd.DataFrame, schema: LabelSchema) -> tuple[np.ndarray, pd.Series, list]:
    """Units x categories vote counts, the unit names and the categories.

    Categories are the schema's labels for single/ordinal tasks; label sets (multi) and span sets
    are compared whole, as the categories that occur.
    """
    from ..table.encode import encode, factorize_units

    table = with_long_columns(table)
    if schema.kind is not LabelKind.SPANS:
        enc = encode(table, schema, what="label table", annotators=False)
        return enc.counts().astype(np.int64), enc.unit_names, list(enc.classes)
    keys = table["label"].map(label_key)
    codes, uniques = pd.factorize(keys)
    units, names = factorize_units(table["unit"])
    counts = np.zeros((len(names), max(len(uniques), 1)), dtype=np.int64)
    np.add.at(counts, (units, codes), 1)
    return counts, names, list(uniques)


def pairs_within(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of positions whose ``groups`` code is the same.

    The cost is the number of pairs, sum of n_g * (n_g - 1), with no Python loop; codes already
    in order (each group one block of rows, the usual table) are not sorted again.
    """
    groups = np.asarray(groups)
    if len(groups) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order, starts, sizes = _blocks(groups)
    size_of = np.repeat(sizes, sizes)  # per sorted position: its group's size
    start_of = np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(groups)), size_of)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(size_of) - size_of, size_of)
    right = start_of[left] + offset
    keep = left != right
    left, right = left[keep], right[keep]
    return (left, right) if order is None else (order[left], order[right])


def _blocks(groups: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``(order, starts, sizes)``: the stable order that puts equal codes in one block (None when they
    already are: the usual table, not sorted again) and each block's first position and size in it."""
    order = None if bool((groups[1:] >= groups[:-1]).all()) else np.argsort(groups, kind="stable")
    g = groups if order is None else groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, dtype=np.int64)
    return order, starts, np.diff(np.r_[starts, len(g)])


def annotator_pairs(enc) -> tuple[np.ndarray, np.ndarray]:
    """Rows (i, j) of the same unit with annotator code i < j: each unordered annotator pair on a
    unit once (in no particular order). Made once per coded table (Cohen's kappa and its interval
    share them): each unit's position pairs p < q, built per unit size from the upper triangle,
    then swapped where the annotator codes run the other way."""
    found = getattr(enc, "_annotator_pairs", None)
    if found is None:
        order, starts, sizes = _blocks(np.asarray(enc.unit))
        lefts, rights = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for size in np.unique(sizes[sizes >= 2]):
            first = starts[sizes == size]
            a, b = np.triu_indices(int(size), 1)
            lefts.append((first[:, None] + a).ravel())
            rights.append((first[:, None] + b).ravel())
        i, j = np.concatenate(lefts), np.concatenate(rights)
        if order is not None:
            i, j = order[i], order[j]
        swap = enc.annotator[i] > enc.annotator[j]
        found = (np.where(swap, j, i), np.where(swap, i, j))
        enc._annotator_pairs = found
    return found


def pair_matrix(values: np.ndarray, names, fill_diagonal: float = np.nan) -> pd.DataFrame:
    """An annotators x annotators DataFrame (NaN where a pair is undefined)."""
    values = np.array(values, dtype=float)
    np.fill_diagonal(values, fill_diagonal)
    return pd.DataFrame(values, index=list(names), columns=list(names))
