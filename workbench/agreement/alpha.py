"""Krippendorff's alpha for nominal, ordinal and interval data, with missing values.

Computed from the units x values count matrix through the coincidence matrix, as in
Krippendorff (2011), "Computing Krippendorff's alpha-reliability":

- ``o[c, k] = sum over units of n_uc * (n_uk - [c == k]) / (m_u - 1)``, over units with m_u >= 2
  labels (a unit with one label is not pairable; missing labels simply are not counted);
- ``alpha = 1 - (n - 1) * sum(o * delta) / sum(n_c * n_k * delta)``.

Distances ``delta``: nominal ``[c != k]``; ordinal ``(sum of n_g for g from c to k - (n_c + n_k) / 2)^2``
over the scale order; interval ``(v_c - v_k)^2``, where ``v`` are the labels' numbers if every label
is a number, else their positions on the scale (0, 1, 2, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema
from ..table.encode import encode
from ..table.rows import row_sum
from . import MetricResult, count_matrix, undefined


def coincidences(counts: np.ndarray) -> np.ndarray:
    """The values x values coincidence matrix of a units x values count matrix."""
    counts = np.asarray(counts, dtype=float)
    m = row_sum(counts)
    # units with fewer than two labels get weight 0 instead of being copied out
    weight = np.divide(1.0, m - 1, out=np.zeros_like(m), where=m >= 2)
    w = counts * weight[:, None]
    return w.T @ counts - np.diag(w.sum(axis=0))


def nominal_distance(k: int, marginals: np.ndarray | None = None) -> np.ndarray:
    return 1.0 - np.eye(k)


def ordinal_distance(k: int, marginals: np.ndarray) -> np.ndarray:
    cum = np.concatenate(([0.0], np.cumsum(marginals)))
    lo = np.minimum.outer(np.arange(k), np.arange(k))
    hi = np.maximum.outer(np.arange(k), np.arange(k))
    between = cum[hi + 1] - cum[lo]  # n_g summed from the lower to the higher value, both included
    return (between - (marginals[:, None] + marginals[None, :]) / 2) ** 2


def interval_distance(values: np.ndarray) -> np.ndarray:
    return np.subtract.outer(values, values) ** 2


def alpha_from_counts(counts: np.ndarray, level: str = "nominal", values: np.ndarray | None = None,
                      name: str = "krippendorff_alpha") -> MetricResult:
    """Alpha from a units x values count matrix (values in scale order for ordinal/interval)."""
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0 or counts.sum() == 0:
        return undefined(name, "no annotations")
    o = coincidences(counts)
    if o.sum() == 0:
        return undefined(name, "undefined: no unit has two or more labels, so no pair of labels to compare")
    n_c = o.sum(axis=1)
    n = n_c.sum()
    k = len(n_c)
    if level == "nominal":
        delta = nominal_distance(k)
    elif level == "ordinal":
        delta = ordinal_distance(k, n_c)
    elif level == "interval":
        delta = interval_distance(np.arange(k, dtype=float) if values is None else np.asarray(values, dtype=float))
    else:
        raise ValueError(f"unknown level of measurement {level!r}")
    expected = (n_c[:, None] * n_c[None, :] * delta).sum()
    if expected == 0:
        return undefined(name, "undefined: every pairable label is the same value, so there is no variation "
                               "to agree on (observed agreement is perfect)")
    observed = (o * delta).sum()
    return MetricResult(name, float(1 - (n - 1) * observed / expected))


def scale_values(schema: LabelSchema) -> tuple[np.ndarray, str]:
    """The numbers of an ordinal scale: the labels themselves if numeric, else their positions."""
    try:
        return np.array([float(x) for x in schema.labels]), "the labels' numeric values"
    except ValueError:
        return np.arange(len(schema.labels), dtype=float), "scale positions 0, 1, 2, ... (labels are not numbers)"


def _counts(table: pd.DataFrame, schema: LabelSchema) -> np.ndarray:
    if schema.kind is LabelKind.SPANS:
        return count_matrix(table, schema)[0]
    return encode(table, schema, annotators=False).counts()  # floats straight from the codes


def krippendorff_alpha_nominal(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    """Nominal alpha; label sets and span sets are compared whole."""
    if table.empty:
        return undefined("krippendorff_alpha", "no annotations")
    return alpha_from_counts(_counts(table, schema), "nominal")


def krippendorff_alpha_ordinal(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    name = "krippendorff_alpha_ordinal"
    if schema.kind is not LabelKind.ORDINAL:
        return undefined(name, f"needs an ordinal scale; this task's labels are {schema.kind.value}")
    if table.empty:
        return undefined(name, "no annotations")
    return alpha_from_counts(_counts(table, schema), "ordinal", name=name)


def krippendorff_alpha_interval(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    name = "krippendorff_alpha_interval"
    if schema.kind is not LabelKind.ORDINAL:
        return undefined(name, f"needs an ordinal (numeric) scale; this task's labels are {schema.kind.value}")
    if table.empty:
        return undefined(name, "no annotations")
    values, how = scale_values(schema)
    res = alpha_from_counts(_counts(table, schema), "interval", values, name=name)
    if res.value is not None:
        res.note = f"interval distances between {how}"
    return res
