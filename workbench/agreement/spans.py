"""Agreement on span labels: pairwise span F1 (exact and overlap) and token-level alpha.

Pairwise F1 compares two annotators on the units both labeled, micro-averaged over those units.
*Exact*: a span matches when the other annotator marked the same offsets with the same label.
*Overlap*: a span matches when the other marked an overlapping span with the same label;
precision is the share of A's spans matched in B, recall the share of B's spans matched in A.
Two annotators who both marked nothing on every shared unit agree fully (F1 = 1). The metric's
value is the mean over annotator pairs; ``detail`` the annotators x annotators matrix.

Token-level alpha is Krippendorff's nominal alpha over tokens (see
:mod:`workbench.table.spans`), each annotator's tag on a token being ``O`` or a label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema
from ..table.spans import SpanTable, explode_spans, group_starts, token_votes
from . import MetricResult, pair_matrix, pairs_within, undefined
from .alpha import alpha_from_counts


def _shared_span_counts(st: SpanTable) -> tuple[np.ndarray, np.ndarray]:
    """Per ordered annotator pair (a, b): units both labeled, and a's spans on those units."""
    a_n = st.n_annotators
    i, j = pairs_within(st.row_unit)
    key = st.row_annotator[i] * a_n + st.row_annotator[j]
    shared = np.bincount(key, minlength=a_n * a_n).reshape(a_n, a_n)
    spans = np.bincount(key, weights=st.row_spans[i], minlength=a_n * a_n).reshape(a_n, a_n)
    return shared, spans


def _distinct(st: SpanTable) -> SpanTable:
    """One copy of each (unit, annotator, span): a raw label may repeat a span."""
    order, first = group_starts(st.unit, st.annotator, st.start, st.end, st.label)
    pick = order[first]
    return SpanTable(st.unit[pick], st.annotator[pick], st.start[pick], st.end[pick], st.label[pick],
                     st.row_unit, st.row_annotator, st.row_spans, st.unit_names, st.annotator_names)


def _matched(st: SpanTable, overlap: bool) -> np.ndarray:
    """matched[a, b]: how many of a's spans have a match among b's spans on the same unit."""
    a_n = st.n_annotators
    if overlap:
        _, group = np.unique(np.stack([st.unit, st.label]), axis=1, return_inverse=True)
    else:
        _, group = np.unique(np.stack([st.unit, st.start, st.end, st.label]), axis=1, return_inverse=True)
    i, j = pairs_within(group.reshape(-1))
    i, j = i[st.annotator[i] != st.annotator[j]], j[st.annotator[i] != st.annotator[j]]
    if overlap:
        hit = (st.start[i] < st.end[j]) & (st.start[j] < st.end[i])
        i, j = i[hit], j[hit]
    # a span counts once per other annotator, however many of their spans it meets
    key = np.unique(i * a_n + st.annotator[j])
    span, other = key // a_n, key % a_n
    return np.bincount(st.annotator[span] * a_n + other, minlength=a_n * a_n).reshape(a_n, a_n)


def span_f1_matrix(table: pd.DataFrame, schema: LabelSchema, overlap: bool) -> tuple[np.ndarray, np.ndarray, list]:
    st = _distinct(explode_spans(table, schema))
    # per-row span counts after removing repeated spans
    distinct_rows = np.bincount(st.unit * st.n_annotators + st.annotator, minlength=st.n_units * st.n_annotators)
    row_key = st.row_unit * st.n_annotators + st.row_annotator
    st.row_spans = distinct_rows[row_key]
    shared, spans = _shared_span_counts(st)
    matched = _matched(st, overlap).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(spans > 0, matched / spans, 0.0)
        recall = precision.T
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    nothing = (spans == 0) & (spans.T == 0)
    f1 = np.where(nothing, 1.0, f1)
    f1 = np.where(shared > 0, f1, np.nan)
    return f1, shared, list(st.annotator_names)


def _span_f1(table, schema, overlap: bool, name: str) -> MetricResult:
    if schema.kind is not LabelKind.SPANS:
        return undefined(name, f"needs span labels; this task's labels are {schema.kind.value}")
    if table.empty:
        return undefined(name, "no annotations")
    f1, shared, names = span_f1_matrix(table, schema, overlap)
    if len(names) < 2:
        return undefined(name, "undefined: needs two or more annotators")
    upper = np.triu(np.ones_like(f1, dtype=bool), 1)
    defined = upper & (shared > 0)
    matrix = pair_matrix(f1, names, 1.0)
    if not defined.any():
        return undefined(name, "undefined: no two annotators labeled a same unit", matrix)
    note = f"mean over {int(defined.sum())} annotator pair(s) that share units"
    return MetricResult(name, float(f1[defined].mean()), note, matrix)


def span_f1_exact(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    return _span_f1(table, schema, False, "span_f1_exact")


def span_f1_overlap(table: pd.DataFrame, schema: LabelSchema, **_kw) -> MetricResult:
    return _span_f1(table, schema, True, "span_f1_overlap")


def token_alpha(table: pd.DataFrame, schema: LabelSchema, units=None, **_kw) -> MetricResult:
    """Nominal alpha over tokens: tags O or a label, one per annotator of the unit."""
    name = "token_alpha"
    if schema.kind is not LabelKind.SPANS:
        return undefined(name, f"needs span labels; this task's labels are {schema.kind.value}")
    if table.empty:
        return undefined(name, "no annotations")
    tv = token_votes(explode_spans(table, schema), len(schema.labels), units)
    if len(tv.votes) == 0:
        return undefined(name, "undefined: no tokens (no unit text and no span marked)")
    res = alpha_from_counts(tv.votes, "nominal", name=name)
    if res.value is not None:
        source = "unit text" if tv.has_text.any() else "span boundaries (no unit text given)"
        res.note = f"{len(tv.votes)} tokens cut from the {source}"
    return res
