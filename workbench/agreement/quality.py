"""Per-annotator quality: accuracy on gold units and agreement with the consensus.

For span tasks "accuracy" is the micro F1 of the annotator's spans against the reference spans
(exact offsets and label), the usual NER measure.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..models import LabelKind, LabelSchema

QUALITY_COLUMNS = ["annotator", "n_annotations", "gold_n", "gold_accuracy", "consensus_agreement"]


def _score(labels: pd.Series, refs: pd.Series, spans: bool) -> float | None:
    if len(labels) == 0:
        return None
    if not spans:
        return float((labels.to_numpy() == refs.to_numpy()).mean())
    tp = fp = fn = 0
    for got, ref in zip(labels, refs):
        got, ref = set(got), set(ref)
        tp += len(got & ref)
        fp += len(got - ref)
        fn += len(ref - got)
    if tp + fp + fn == 0:
        return 1.0  # nothing to mark, and nothing marked
    return 2 * tp / (2 * tp + fp + fn)


def annotator_quality(table: pd.DataFrame, schema: LabelSchema, gold: Mapping[str, object] | None = None,
                      consensus: Mapping[str, object] | None = None) -> pd.DataFrame:
    spans = schema.kind is LabelKind.SPANS
    gold = dict(gold or {})
    consensus = dict(consensus or {})
    rows = []
    for annotator, part in table.groupby("annotator", sort=True):
        on_gold = part[part["unit"].isin(gold.keys())]
        on_cons = part[part["unit"].isin(consensus.keys())]
        rows.append({
            "annotator": annotator,
            "n_annotations": int(len(part)),
            "gold_n": int(len(on_gold)),
            "gold_accuracy": _score(on_gold["label"], on_gold["unit"].map(gold), spans),
            "consensus_agreement": _score(on_cons["label"], on_cons["unit"].map(consensus), spans),
        })
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)
