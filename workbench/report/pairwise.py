"""Agreement between each pair of annotators, for the report's heatmap.

Choice tasks: Cohen's kappa on the units both annotators labeled; span tasks: exact-span F1 between
the two (kappa has no sensible chance model for free-form spans). When the agreement step stored a
``cohen_kappa`` / ``span_f1_exact`` metric whose ``detail`` is an annotator x annotator table, that
table is used; when a plugin replaced the metric with another shape (or it was not computed), the
agreement engine's own pair kappa (:func:`workbench.agreement.kappa.kappa_matrix`) or a span F1
computed here is. The shared-unit counts are always ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ..agreement.kappa import kappa_matrix
from ..models import LabelKind, LabelSchema, label_key
from ..table.score import span_f1


@dataclass
class Pairwise:
    measure: str  # what the values are, for the figure's title
    values: pd.DataFrame  # annotator x annotator, NaN where undefined
    shared: pd.DataFrame  # annotator x annotator, units both labeled
    source: str  # "metric cohen_kappa" or "computed in the report"


def _stored(metrics: dict, name: str, annotators: list[str]) -> pd.DataFrame | None:
    """The annotator x annotator ``detail`` the agreement step stored for ``name``, if it has that shape."""
    detail = (metrics.get(name) or {}).get("detail")
    if isinstance(detail, dict):
        try:
            detail = pd.DataFrame(detail).T
        except ValueError:
            return None
    if not isinstance(detail, pd.DataFrame) or set(map(str, detail.index)) != set(annotators) \
            or set(map(str, detail.columns)) != set(annotators):
        return None  # a shape we do not know: compute our own rather than guess
    detail = detail.copy()
    detail.index = detail.index.map(str)
    detail.columns = detail.columns.map(str)
    detail = detail.loc[annotators, annotators].astype(float)
    for a in annotators:
        detail.loc[a, a] = 1.0
    return detail


def pairwise(table: pd.DataFrame, schema: LabelSchema, metrics: dict | None = None) -> Pairwise:
    """Pairwise agreement; ``metrics``: the stored ``{name: {value, note, detail}}``."""
    annotators = sorted(map(str, table["annotator"].unique()))
    if schema.kind is LabelKind.SPANS:
        measure, metric = "exact-span F1", "span_f1_exact"
        values, shared = _span_f1_matrix(table, annotators)
    else:  # the agreement engine's own pair kappa (the registered metric may be a plugin's)
        measure, metric = "Cohen's kappa", "cohen_kappa"
        kappa, n, names = kappa_matrix(table, schema)
        names = [str(x) for x in names]
        values = pd.DataFrame(kappa, index=names, columns=names).loc[annotators, annotators]
        shared = pd.DataFrame(n, index=names, columns=names).loc[annotators, annotators].astype(int)
        per_annotator = table.groupby(table["annotator"].map(str))["unit"].nunique()
        for a in annotators:
            values.loc[a, a] = 1.0
            shared.loc[a, a] = int(per_annotator[a])
    stored = _stored(metrics or {}, metric, annotators) if len(annotators) > 1 else None
    if stored is not None:
        return Pairwise(measure, stored, shared, f"metric {metric}")
    return Pairwise(measure, values, shared, "computed in the report")


def _span_f1_matrix(table: pd.DataFrame, annotators: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact-span F1 and shared units for every annotator pair (NaN under two shared units)."""
    keyed = table.assign(key=table["label"].map(label_key))
    wide = keyed.pivot_table(index="unit", columns="annotator", values="key", aggfunc="first")
    raw = table.pivot_table(index="unit", columns="annotator", values="label", aggfunc="first")
    values = pd.DataFrame(np.nan, index=annotators, columns=annotators)
    shared = pd.DataFrame(0, index=annotators, columns=annotators, dtype=int)
    for a in annotators:
        shared.loc[a, a] = int(wide[a].notna().sum())
        values.loc[a, a] = 1.0
    for a, b in combinations(annotators, 2):
        both = wide[[a, b]].dropna()
        shared.loc[a, b] = shared.loc[b, a] = len(both)
        if len(both) >= 2:
            pair = raw.loc[both.index, [a, b]]
            values.loc[a, b] = values.loc[b, a] = span_f1(pair[a], pair[b])
    return values, shared
