"""Majority vote.

Tie rule (deterministic): among the labels with the most votes, the one that comes first in the
schema's label order wins; tied units are reported. Spans are voted one span at a time: a span
(exact offsets and label) is kept when more than half of the unit's annotators marked it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema
from . import AggregateResult


def majority_vote(table: pd.DataFrame, schema: LabelSchema, **_options) -> AggregateResult:
    if schema.kind is LabelKind.SPANS:
        return _span_majority(table)
    if table.empty:
        return AggregateResult("majority", pd.DataFrame(columns=["unit", "label", "confidence", "n_annotations"]))
    # rank of each label in schema order breaks ties; multi-choice sets rank by their first seen order
    labels = table["label"]
    order = {label: i for i, label in enumerate(schema.labels)}
    if schema.kind is LabelKind.MULTI:
        keys = labels.map(lambda t: tuple(t))
        rank = keys.map(lambda t: tuple(order.get(x, len(order)) for x in t))
        rank = rank.rank(method="dense")
    else:
        keys = labels
        rank = labels.map(order)
    counts = (
        pd.DataFrame({"unit": table["unit"].values, "label": keys.values, "rank": rank.values})
        .groupby(["unit", "label", "rank"], sort=False).size().rename("votes").reset_index()
    )
    n = counts.groupby("unit", sort=False)["votes"].transform("sum")
    counts["n"] = n
    counts = counts.sort_values(["unit", "votes", "rank"], ascending=[True, False, True], kind="mergesort")
    best = counts.drop_duplicates("unit", keep="first")
    top = counts.groupby("unit", sort=False)["votes"].transform("max")
    tied_units = counts[counts["votes"] == top].groupby("unit").size()
    ties = sorted(tied_units[tied_units > 1].index.tolist())
    out = pd.DataFrame({
        "unit": best["unit"].values,
        "label": best["label"].values,
        "confidence": (best["votes"] / best["n"]).to_numpy(dtype=float),
        "n_annotations": best["n"].to_numpy(dtype=int),
    })
    posteriors = None
    if schema.categorical:
        share = counts.assign(p=counts["votes"] / counts["n"]).pivot_table(
            index="unit", columns="label", values="p", fill_value=0.0, observed=True)
        posteriors = share.reindex(columns=list(schema.labels), fill_value=0.0)
    notes = [f"{len(ties)} unit(s) tied; broken by schema label order"] if ties else []
    return AggregateResult("majority", out.sort_values("unit", ignore_index=True), posteriors, notes=notes, ties=ties)


def _span_majority(table: pd.DataFrame) -> AggregateResult:
    n_ann = table.groupby("unit")["annotator"].nunique()
    rows = [(u, span) for u, spans in zip(table["unit"], table["label"]) for span in spans]
    votes = pd.DataFrame(rows, columns=["unit", "span"]).groupby(["unit", "span"]).size() if rows else pd.Series(dtype=int)
    kept: dict[str, list] = {u: [] for u in n_ann.index}
    conf: dict[str, list] = {u: [] for u in n_ann.index}
    for (u, span), v in votes.items():
        share = v / n_ann[u]
        if share > 0.5:
            kept[u].append(span)
            conf[u].append(share)
    out = pd.DataFrame({
        "unit": list(n_ann.index),
        "label": [tuple(sorted(kept[u])) for u in n_ann.index],
        # an empty consensus is as sure as the share of annotators who marked nothing
        "confidence": [float(np.mean(conf[u])) if conf[u] else _empty_share(table, u) for u in n_ann.index],
        "n_annotations": n_ann.to_numpy(dtype=int),
    })
    return AggregateResult("majority", out, notes=["spans: a span is kept when over half the annotators marked it exactly"])


def _empty_share(table: pd.DataFrame, unit: str) -> float:
    labels = table.loc[table["unit"] == unit, "label"]
    return float(np.mean([len(x) == 0 for x in labels])) if len(labels) else 0.0
