"""Percent agreement and Krippendorff's alpha (nominal) from a units x categories count matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelSchema
from . import MetricResult, count_matrix


def percent_agreement(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    """Mean over units with 2+ labels of the share of annotator pairs that gave the same label."""
    if table.empty:
        return MetricResult("percent_agreement", None, "no annotations")
    counts, units, _ = count_matrix(table, schema)
    m = counts.sum(axis=1)
    ok = m >= 2
    if not ok.any():
        return MetricResult("percent_agreement", None, "no unit has two or more labels")
    pairs = (counts[ok] * (counts[ok] - 1)).sum(axis=1) / (m[ok] * (m[ok] - 1))
    per_unit = pd.Series(pairs, index=np.asarray(units, dtype=object)[ok], name="agreement")
    return MetricResult("percent_agreement", float(pairs.mean()), detail=per_unit)


def krippendorff_alpha_nominal(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    """Krippendorff's alpha with the nominal distance; units with one label are not pairable."""
    name = "krippendorff_alpha"
    if table.empty:
        return MetricResult(name, None, "no annotations")
    counts, _, _ = count_matrix(table, schema)
    m = counts.sum(axis=1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    if len(counts) == 0:
        return MetricResult(name, None, "undefined: no unit has two or more labels")
    # coincidences: o_ck = sum_u (n_uc n_uk - [c==k] n_uc) / (m_u - 1)
    w = counts / (m - 1)[:, None]
    o = w.T @ counts - np.diag(w.sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = o.sum() - np.trace(o)
    d_e = (n * n - (n_c * n_c).sum()) / (n - 1)
    if d_e == 0:
        return MetricResult(name, None, "undefined: every label is the same, so there is no variation to agree on")
    return MetricResult(name, float(1 - d_o / d_e))
