"""Chance-corrected agreement: Cohen's kappa for every annotator pair, Fleiss' kappa, Gwet's AC1.

Fleiss' kappa and AC1 follow Gwet's formulation for missing ratings (Handbook of Inter-Rater
Reliability, 4th ed., 2014), the one irrCAC implements: observed agreement ``pa`` averages, over
units with 2+ labels, the share of agreeing label pairs; ``pi_k`` averages, over units with any
label, the share of the unit's labels that are ``k``. Then

- Fleiss: ``pe = sum pi_k^2``; with the same number of labels on every unit this is the
  textbook Fleiss (1971) kappa (statsmodels' ``fleiss_kappa``);
- AC1: ``pe = sum pi_k (1 - pi_k) / (q - 1)``, with q the number of categories (the schema's
  labels; for label sets and span sets, the distinct sets seen).

Cohen's kappa is computed for each pair of annotators on the units both labeled; the metric's
value is their mean (Light's kappa) and ``detail`` the full matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelSchema
from . import MetricResult, annotator_pairs, count_matrix, pair_matrix, undefined


def _gwet_parts(counts: np.ndarray) -> tuple[float, np.ndarray] | None:
    counts = np.asarray(counts, dtype=float)
    r = counts.sum(axis=1)
    rated = r >= 1
    two = r >= 2
    if not two.any():
        return None
    c2 = counts[two]
    pa = float(((c2 * (c2 - 1)).sum(axis=1) / (r[two] * (r[two] - 1))).mean())
    pi = (counts[rated] / r[rated][:, None]).mean(axis=0)
    return pa, pi


def fleiss_kappa(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    name = "fleiss_kappa"
    if table.empty:
        return undefined(name, "no annotations")
    counts, _, _ = count_matrix(table, schema)
    parts = _gwet_parts(counts)
    if parts is None:
        return undefined(name, "undefined: no unit has two or more labels")
    pa, pi = parts
    pe = float((pi ** 2).sum())
    if pe >= 1 - 1e-15:
        return undefined(name, "undefined: every label is the same value, so chance agreement is 1 "
                               f"(observed agreement {pa:.3f})")
    return MetricResult(name, (pa - pe) / (1 - pe))


def gwet_ac1(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    name = "gwet_ac1"
    if table.empty:
        return undefined(name, "no annotations")
    counts, _, cats = count_matrix(table, schema)
    q = len(cats)
    if q < 2:
        return undefined(name, "undefined: needs two or more categories")
    parts = _gwet_parts(counts)
    if parts is None:
        return undefined(name, "undefined: no unit has two or more labels")
    pa, pi = parts
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    return MetricResult(name, (pa - pe) / (1 - pe))


def kappa_matrix(table: pd.DataFrame, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray, list]:
    """Per annotator pair: Cohen's kappa (NaN if undefined) and the number of shared units."""
    from ..table.encode import encode

    enc = encode(table, schema)
    a_n, k = enc.n_annotators, enc.n_classes
    i, j = annotator_pairs(enc)  # each unordered pair once
    key = ((enc.annotator[i] * a_n + enc.annotator[j]) * k + enc.label[i]) * k + enc.label[j]
    cells = a_n * a_n * k * k
    if cells <= 50_000_000:
        tables = np.bincount(key, minlength=cells).reshape(a_n, a_n, k, k).astype(float)
    else:  # many annotators: only the pairs that occur
        tables = np.zeros((a_n, a_n, k, k))
        uniq, cnt = np.unique(key, return_counts=True)
        tables.reshape(-1)[uniq] = cnt
    n = tables.sum(axis=(2, 3))
    idx = np.arange(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        po = tables[:, :, idx, idx].sum(axis=2) / n
        pe = (tables.sum(axis=3) * tables.sum(axis=2)).sum(axis=2) / (n * n)
        kappa = (po - pe) / (1 - pe)
    kappa[(n == 0) | (pe >= 1 - 1e-15)] = np.nan
    upper = np.triu(np.ones((a_n, a_n), dtype=bool), 1)
    kappa = np.where(upper, kappa, kappa.T)
    n = np.where(upper, n, n.T)
    return kappa, n, list(enc.annotator_names)


def cohen_kappa(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    """Mean pairwise Cohen's kappa; ``detail`` is the annotators x annotators matrix."""
    name = "cohen_kappa"
    if table.empty:
        return undefined(name, "no annotations")
    kappa, n, names = kappa_matrix(table, schema)
    if len(names) < 2:
        return undefined(name, "undefined: needs two or more annotators")
    upper = np.triu(np.ones_like(kappa, dtype=bool), 1)
    defined = upper & ~np.isnan(kappa)
    matrix = pair_matrix(kappa, names, 1.0)
    if not defined.any():
        return undefined(name, "undefined: no annotator pair shares a unit with variation in its labels", matrix)
    no_share = int((upper & (n == 0)).sum())
    flat = int((upper & (n > 0) & np.isnan(kappa)).sum())
    notes = []
    if no_share:
        notes.append(f"{no_share} pair(s) share no unit")
    if flat:
        notes.append(f"{flat} pair(s) gave one same label on all their shared units (kappa undefined)")
    note = f"mean over {int(defined.sum())} annotator pair(s)" + ("; " + "; ".join(notes) if notes else "")
    return MetricResult(name, float(kappa[defined].mean()), note, matrix)
