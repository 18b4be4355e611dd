"""Percent agreement: the share of annotator pairs on a unit that gave the same label."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelSchema
from . import MetricResult, count_matrix, undefined


def pairwise_share(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit with 2+ labels, the share of label pairs that match; and the mask of those units."""
    m = counts.sum(axis=1)
    ok = m >= 2
    c = counts[ok].astype(float)
    return (c * (c - 1)).sum(axis=1) / (m[ok] * (m[ok] - 1)), ok


def percent_agreement(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    """Mean over units with 2+ labels of the share of annotator pairs that gave the same label.

    ``detail`` is the per-unit share (a Series indexed by unit), used to filter exports and to
    list disputed units.
    """
    name = "percent_agreement"
    if table.empty:
        return undefined(name, "no annotations")
    counts, units, _ = count_matrix(table, schema)
    share, ok = pairwise_share(counts)
    if not ok.any():
        return undefined(name, "undefined: no unit has two or more labels")
    per_unit = pd.Series(share, index=pd.Index(units.to_numpy(dtype=object)[ok], name="unit"), name="agreement")
    return MetricResult(name, float(share.mean()), detail=per_unit)
