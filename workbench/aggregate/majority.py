"""Vote-counting methods: majority vote, weighted majority by gold accuracy, and Wawa.

Tie rule (all three, as every posterior method): among the labels with the highest score, a draw
keyed on the unit's id decides (:func:`workbench.aggregate.break_ties`: reproducible, no label
favoured); tied units are listed in ``AggregateResult.ties``.

Spans (majority only) are voted one whole span at a time: a span (exact offsets and label) is
kept when more than half of the unit's annotators marked it. The token-level ``spans`` method
(:mod:`workbench.aggregate.tokenvote`) is usually the better choice for span tasks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema
from ..table.encode import encode
from ..table.spans import explode_spans, group_starts, spans_by_unit
from . import AggregateResult, check_options, empty_result, posterior_result, row_argmax


def majority_vote(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """Each label's share of the unit's votes; the largest share wins."""
    check_options("majority", options, ())
    if table.empty:
        return empty_result("majority")
    if schema.kind is LabelKind.SPANS:
        return span_majority(table, schema)
    # counting votes needs no annotator codes (see encode(): the table has one row per annotator and unit)
    enc = encode(table, schema, annotators=False)
    return posterior_result("majority", enc, enc.shares())


def weighted_majority(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None,
                      **options) -> AggregateResult:
    """Votes weighted by each annotator's accuracy on gold units (honeypots).

    The weight is the log-odds ``log((K - 1) * acc / (1 - acc))``, the optimal weight when each
    annotator is right with probability ``acc`` and otherwise picks a wrong label at random;
    ``acc`` is smoothed as ``(correct + 1) / (answered + 2)`` so a perfect record is not an
    infinite weight, and weights below zero (worse than chance) count as zero. Annotators who saw
    no gold unit get the weight of the pooled accuracy of everyone who did.
    """
    check_options("weighted_majority", options, ())
    if table.empty:
        return empty_result("weighted_majority")
    enc = encode(table, schema)
    gu, gl = enc.gold_codes(gold)
    if len(gu) == 0:
        raise WorkbenchError("weighted_majority needs gold labels on some of the table's units (honeypots); "
                             "none found: use majority or dawid_skene")
    gold_of = np.full(enc.n_units, -1)
    gold_of[gu] = gl
    on_gold = gold_of[enc.unit] >= 0
    right = (enc.label == gold_of[enc.unit]) & on_gold
    answered = np.bincount(enc.annotator[on_gold], minlength=enc.n_annotators)
    correct = np.bincount(enc.annotator[right], minlength=enc.n_annotators)
    k = max(enc.n_classes, 2)
    acc = (correct + 1) / (answered + 2)
    pooled = (correct.sum() + 1) / (answered.sum() + 2)
    acc = np.where(answered > 0, acc, pooled)
    weight = np.maximum(0.0, np.log((k - 1) * acc / (1 - acc)))
    scores = enc.counts(weights=weight[enc.annotator])
    notes = []
    unseen = int((answered == 0).sum())
    if unseen:
        notes.append(f"{unseen} annotator(s) saw no gold unit: weighted by the pooled gold accuracy {pooled:.3f}")
    post = _normalize_or_votes(scores, enc.counts(), notes)
    info = pd.DataFrame({"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator(),
                         "gold_n": answered, "gold_accuracy": np.where(answered > 0, correct / np.maximum(answered, 1),
                                                                       np.nan), "weight": weight})
    return posterior_result("weighted_majority", enc, post, notes, info)


def wawa(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """Worker Agreement With Aggregate: majority vote, then votes weighted by each annotator's
    agreement with that majority (as crowd-kit's ``Wawa``)."""
    check_options("wawa", options, ())
    if table.empty:
        return empty_result("wawa")
    enc = encode(table, schema)
    counts = enc.counts()
    mv, _ = row_argmax(counts)
    agree = np.bincount(enc.annotator, weights=(enc.label == mv[enc.unit]).astype(float),
                        minlength=enc.n_annotators)
    skill = agree / np.maximum(enc.per_annotator(), 1)
    notes: list[str] = []
    post = _normalize_or_votes(enc.counts(weights=skill[enc.annotator]), counts, notes)
    info = pd.DataFrame({"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator(),
                         "skill": skill})
    return posterior_result("wawa", enc, post, notes, info)


def _normalize_or_votes(scores: np.ndarray, counts: np.ndarray, notes: list[str]) -> np.ndarray:
    """Rows of ``scores`` as shares; a unit whose voters all weigh zero falls back to plain votes."""
    total = scores.sum(axis=1, keepdims=True)
    zero = total[:, 0] <= 0
    if zero.any():
        scores = scores.copy()
        scores[zero] = counts[zero]
        total = scores.sum(axis=1, keepdims=True)
        notes.append(f"{int(zero.sum())} unit(s) had only zero-weight voters: plain majority used there")
    return scores / total


def span_majority(table: pd.DataFrame, schema: LabelSchema) -> AggregateResult:
    """Exact-span vote: keep a span when more than half of the unit's annotators marked it."""
    st = explode_spans(table, schema)
    n_ann = st.annotations_per_unit()
    # one vote per annotator per distinct span, even if a raw label repeated it
    order, first = group_starts(st.unit, st.annotator, st.start, st.end, st.label)
    pick = order[first]
    u, s, e, lab = st.unit[pick], st.start[pick], st.end[pick], st.label[pick]
    order, first = group_starts(u, s, e, lab)
    votes = np.diff(np.r_[first, len(order)])
    g = order[first]
    share = votes / n_ann[u[g]]
    kept = share > 0.5
    ku = u[g][kept]
    labels = spans_by_unit(st.n_units, ku, s[g][kept], e[g][kept], lab[g][kept], schema.labels)
    kept_n = np.bincount(ku, minlength=st.n_units)
    kept_share = np.bincount(ku, weights=share[kept], minlength=st.n_units)
    empty_share = np.bincount(st.row_unit, weights=(st.row_spans == 0).astype(float), minlength=st.n_units) / n_ann
    # an empty consensus is as sure as the share of annotators who marked nothing
    confidence = np.where(kept_n > 0, kept_share / np.maximum(kept_n, 1), empty_share)
    out = pd.DataFrame({"unit": st.unit_names.to_numpy(dtype=object), "label": labels,
                        "confidence": confidence, "n_annotations": n_ann})
    return AggregateResult("majority", out,
                           notes=["spans: a span is kept when over half the annotators marked it exactly"])
