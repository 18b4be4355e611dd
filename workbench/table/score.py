"""Labels against reference labels: share equal for choices, pooled span F1 for spans."""

from __future__ import annotations

import pandas as pd


def span_f1(labels: pd.Series, refs: pd.Series) -> float | None:
    """Pooled F1 of span sets against reference span sets (exact offsets and label); None when empty."""
    if len(labels) == 0:
        return None
    tp = fp = fn = 0
    for got, ref in zip(labels, refs):
        got, ref = set(got), set(ref)
        tp += len(got & ref)
        fp += len(got - ref)
        fn += len(ref - got)
    if tp + fp + fn == 0:
        return 1.0  # nothing to mark, and nothing marked
    return 2 * tp / (2 * tp + fp + fn)


def score(labels: pd.Series, refs: pd.Series, spans: bool) -> float | None:
    """Share equal (choices) or pooled span F1 (spans) of ``labels`` against ``refs``."""
    if len(labels) == 0:
        return None
    if spans:
        return span_f1(labels, refs)
    return float((labels.to_numpy() == refs.to_numpy()).mean())
