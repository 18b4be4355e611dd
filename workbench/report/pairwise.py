"""Agreement between each pair of annotators, for the report's heatmap.

Choice tasks: Cohen's kappa on the units both annotators labeled; span tasks: exact-span F1 between
the two (kappa has no sensible chance model for free-form spans). When the agreement engine's
``cohen_kappa`` / ``span_f1_exact`` metric is registered and its ``detail`` is an annotator x
annotator table, that table is used; otherwise the value is computed here. The shared-unit counts
are always ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ..agreement.quality import span_f1
from ..models import LabelKind, LabelSchema, label_key


@dataclass
class Pairwise:
    measure: str  # what the values are, for the figure's title
    values: pd.DataFrame  # annotator x annotator, NaN where undefined
    shared: pd.DataFrame  # annotator x annotator, units both labeled
    source: str  # "metric cohen_kappa" or "computed in the report"


def cohen_kappa(a: pd.Series, b: pd.Series) -> float | None:
    """Kappa of two aligned label series; None when chance agreement is 1 (both always say one thing)."""
    if len(a) == 0:
        return None
    po = float((a.to_numpy() == b.to_numpy()).mean())
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    pe = float(sum(pa.get(c, 0.0) * pb.get(c, 0.0) for c in set(pa.index) | set(pb.index)))
    if pe >= 1 - 1e-12:
        return None
    return (po - pe) / (1 - pe)


def _registered(registry, name: str, table: pd.DataFrame, schema: LabelSchema, annotators: list[str], **kw):
    """The annotator x annotator ``detail`` of metric ``name``, if it is registered and gives one."""
    if name not in registry.names("metrics"):
        return None
    metric = registry.get("metrics", name)
    if schema.kind not in metric.kinds:
        return None
    detail = metric.func(table, schema, **kw).detail
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


def pairwise(registry, table: pd.DataFrame, schema: LabelSchema, **kw) -> Pairwise:
    annotators = sorted(map(str, table["annotator"].unique()))
    spans = schema.kind is LabelKind.SPANS
    keyed = table.assign(key=table["label"].map(label_key) if not schema.categorical else table["label"])
    wide = keyed.pivot_table(index="unit", columns="annotator", values="key", aggfunc="first")
    raw = table.pivot_table(index="unit", columns="annotator", values="label", aggfunc="first") if spans else None
    n = len(annotators)
    values = pd.DataFrame(np.nan, index=annotators, columns=annotators)
    shared = pd.DataFrame(0, index=annotators, columns=annotators, dtype=int)
    for a in annotators:
        shared.loc[a, a] = int(wide[a].notna().sum())
        values.loc[a, a] = 1.0
    for a, b in combinations(annotators, 2):
        both = wide[[a, b]].dropna()
        shared.loc[a, b] = shared.loc[b, a] = len(both)
        if len(both) < 2:
            continue
        if spans:
            pair = raw.loc[both.index, [a, b]]
            v = span_f1(pair[a], pair[b])
        else:
            v = cohen_kappa(both[a], both[b])
        if v is not None:
            values.loc[a, b] = values.loc[b, a] = v
    measure, metric = ("exact-span F1", "span_f1_exact") if spans else ("Cohen's kappa", "cohen_kappa")
    registered = _registered(registry, metric, table, schema, annotators, **kw) if n > 1 else None
    if registered is not None:
        return Pairwise(measure, registered, shared, f"metric {metric}")
    return Pairwise(measure, values, shared, "computed in the report")
