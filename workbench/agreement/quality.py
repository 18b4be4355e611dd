"""Per-annotator quality: gold accuracy, agreement with the consensus, Dawid-Skene confusion
matrix, spammer score, and flags for annotators below a threshold.

- ``gold_accuracy``: share of right answers on gold units (span tasks: micro F1 of the annotator's
  spans against the gold spans, exact offsets and label).
- ``consensus_agreement``: the same against the aggregated label.
- ``ds_accuracy`` and ``confusion``: from a Dawid-Skene fit of the whole table (gold clamped):
  ``confusion[true][given]`` = P(annotator gives ``given`` | truth is ``true``), and the expected
  share right under the fitted class priors. Span tasks: the same fit over token tags (``O`` or
  a label for each token and annotator, see :mod:`workbench.table.spans`).
- ``spammer_score`` (Raykar and Yu, 2011): ``1 / (K (K - 1)) * sum over pairs of true classes
  c < c' of the squared distance between confusion rows c and c'``. 0 means the answer does not
  depend on the truth (a spammer, however often they agree by luck); 1 a perfect annotator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema, Span, with_long_columns

QUALITY_COLUMNS = ["annotator", "n_annotations", "gold_n", "gold_accuracy", "consensus_agreement",
                   "ds_accuracy", "spammer_score", "flags", "confusion"]


@dataclass(frozen=True)
class Thresholds:
    """An annotator is flagged when a measure is below its threshold (gold: with enough gold answers)."""

    min_gold_accuracy: float = 0.6
    min_consensus: float = 0.5
    min_spammer_score: float = 0.2
    min_gold_n: int = 3


def spammer_score(confusion: np.ndarray) -> float:
    """Raykar and Yu's score of one K x K confusion matrix (rows: true class)."""
    k = confusion.shape[0]
    if k < 2:
        return float("nan")
    diff = confusion[:, None, :] - confusion[None, :, :]
    return float((diff ** 2).sum() / 2 / (k * (k - 1)))  # every pair c < c' once


def _categorical_scores(table: pd.DataFrame, ref: Mapping, annotators: pd.Index,
                        schema: LabelSchema | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator: rows on units with a reference, and the share equal to it (NaN if none).

    With the schema, on integer codes (the table coded once, :func:`~workbench.table.encode.encode`):
    a reference becomes a class code per unit and each row is compared by code."""
    if schema is not None and schema.kind is not LabelKind.SPANS:
        return _coded_scores(table, ref, annotators, schema)
    mask = table["unit"].isin(list(ref.keys())).to_numpy()
    part = table[mask]
    right = part["label"].to_numpy(dtype=object) == part["unit"].map(ref).to_numpy(dtype=object)
    who = annotators.get_indexer(part["annotator"])
    n = np.bincount(who, minlength=len(annotators))
    ok = np.bincount(who, weights=right.astype(float), minlength=len(annotators))
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.where(n > 0, ok / np.maximum(n, 1), np.nan)


def reference_codes(enc, ref: Mapping) -> np.ndarray:
    """Per unit of ``enc``: the class code of its reference label; -1 for a reference that is no
    class (it matches no row), -2 for a unit without a reference. Made once per coded table and
    mapping (the quality table and the disputed units compare with the same consensus)."""
    if enc._references is None:
        enc._references = {}
    found = enc._references.get(id(ref))
    if found is None or found[0] is not ref:
        found = (ref, _reference_codes(enc, ref))  # the mapping is kept: its id stays its own
        enc._references[id(ref)] = found
    return found[1]


def _reference_codes(enc, ref: Mapping) -> np.ndarray:
    out = np.full(enc.n_units, -2, dtype=np.int64)
    if not ref:
        return out
    keys = list(ref.keys())
    pos = enc.unit_index().get_indexer(keys)
    index = {c: i for i, c in enumerate(enc.classes)}

    def code(v) -> int:
        try:
            return index.get(v, -1)
        except TypeError:  # unhashable: equal to no label
            return -1

    values = list(ref.values())
    if all(isinstance(c, str) for c in enc.classes) and all(map(str.__instancecheck__, values)):
        codes = pd.Index(enc.classes).get_indexer(values).astype(np.int64)  # -1: not a class
    else:
        codes = np.fromiter((code(v) for v in values), dtype=np.int64, count=len(keys))
    found = pos >= 0
    out[pos[found]] = codes[found]
    return out


def _coded_scores(table: pd.DataFrame, ref: Mapping, annotators: pd.Index,
                  schema: LabelSchema) -> tuple[np.ndarray, np.ndarray]:
    from ..table.encode import encode

    enc = encode(table, schema)
    of_unit = reference_codes(enc, ref)[enc.unit]
    on = of_unit != -2
    right = on & (enc.label == of_unit)
    who = annotators.get_indexer(enc.annotator_names)[enc.annotator]
    n = np.bincount(who[on], minlength=len(annotators))
    ok = np.bincount(who[right], minlength=len(annotators)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.where(n > 0, ok / np.maximum(n, 1), np.nan)


def _span_frame(units, annotators, labels) -> pd.DataFrame:
    rows = [(u, a, s.start, s.end, s.label) for u, a, spans in zip(units, annotators, labels)
            for s in spans if isinstance(s, Span)]
    return pd.DataFrame(rows, columns=["unit", "annotator", "start", "end", "label"])


def _span_scores(table: pd.DataFrame, ref: Mapping, annotators: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator: rows on units with reference spans, and the pooled F1 against them."""
    part = table[table["unit"].isin(list(ref.keys())).to_numpy()]
    who = annotators.get_indexer(part["annotator"])
    n = np.bincount(who, minlength=len(annotators))
    mine = _span_frame(part["unit"], part["annotator"], part["label"])
    gold_rows = _span_frame(list(ref.keys()), [None] * len(ref), list(ref.values()))
    key = ["unit", "start", "end", "label"]
    hits = mine.merge(gold_rows[key].drop_duplicates(), on=key, how="inner")
    tp = np.bincount(annotators.get_indexer(hits["annotator"]), minlength=len(annotators)).astype(float)
    marked = np.bincount(annotators.get_indexer(mine["annotator"]), minlength=len(annotators)).astype(float)
    ref_per_unit = gold_rows.groupby("unit").size()
    expected = np.bincount(who, weights=part["unit"].map(ref_per_unit).fillna(0).to_numpy(dtype=float),
                           minlength=len(annotators))
    fp, fn = marked - tp, expected - tp
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-300), 1.0)
    return n, np.where(n > 0, f1, np.nan)


def _ds_quality(table: pd.DataFrame, schema: LabelSchema, gold: Mapping, annotators: pd.Index, stored=None):
    from ..aggregate.choose import dawid_skene_fit

    if stored is not None and not gold:  # the consensus's stored fit of this table: its M step, not EM again
        from ..aggregate.dawid_skene import stored_annotators
        from ..table.encode import encode

        frame = stored_annotators(encode(table, schema), stored)
        if frame is not None:
            return _confusion_columns(frame, stored.classes, annotators)
    res = dawid_skene_fit(table, schema, gold)  # the consensus's own fit when that was Dawid-Skene on this table
    return _confusion_columns(res.annotators, list(res.posteriors.columns), annotators)


def _span_ds_quality(table: pd.DataFrame, schema: LabelSchema, units, annotators: pd.Index):
    """Dawid-Skene over token tags (O or a label per annotator and token) of a span table."""
    from ..aggregate.dawid_skene import annotator_frame, fit_em, full_confusion
    from ..table.encode import Encoded
    from ..table.spans import explode_spans, token_votes

    tv = token_votes(explode_spans(table, schema), len(schema.labels), units)
    token, annotator, tag = tv.tags()
    if len(token) == 0:
        nothing = np.full(len(annotators), np.nan)
        return nothing, nothing, [None] * len(annotators)
    classes = ["O", *schema.labels]
    enc = Encoded(token, annotator, tag, pd.Series(np.arange(len(tv.unit))), tv.spans.annotator_names, classes)
    k, n_ann = enc.n_classes, enc.n_annotators
    fit = fit_em(enc, lambda e: full_confusion(e, n_ann, k))
    return _confusion_columns(annotator_frame(enc, fit), classes, annotators)


def _confusion_columns(frame: pd.DataFrame, classes: list, annotators: pd.Index):
    info = frame.set_index("annotator").reindex(annotators)
    confusion = [None if not isinstance(c, np.ndarray) else
                 {t: {g: round(float(c[i, j]), 6) for j, g in enumerate(classes)} for i, t in enumerate(classes)}
                 for c in info["confusion"]]
    scores = np.array([spammer_score(c) if isinstance(c, np.ndarray) else np.nan for c in info["confusion"]])
    return info["accuracy"].to_numpy(dtype=float), scores, confusion


def flags_for(gold_n, gold_accuracy, consensus_agreement, spammer, thresholds: Thresholds = Thresholds()) -> list[str]:
    """Why an annotator is flagged under ``thresholds`` (missing measures raise no flag)."""
    def below(x, bar):
        return x is not None and x == x and x < bar

    f = []
    if (gold_n or 0) >= thresholds.min_gold_n and below(gold_accuracy, thresholds.min_gold_accuracy):
        f.append(f"gold accuracy {gold_accuracy:.2f} < {thresholds.min_gold_accuracy}")
    if below(consensus_agreement, thresholds.min_consensus):
        f.append(f"consensus agreement {consensus_agreement:.2f} < {thresholds.min_consensus}")
    if below(spammer, thresholds.min_spammer_score):
        f.append(f"spammer score {spammer:.2f} < {thresholds.min_spammer_score}")
    return f


def annotator_quality(table: pd.DataFrame, schema: LabelSchema, gold: Mapping[str, object] | None = None,
                      consensus: Mapping[str, object] | None = None,
                      thresholds: Thresholds = Thresholds(), units: Mapping | None = None,
                      stored_fit=None) -> pd.DataFrame:
    """One row per annotator (sorted by id) with the measures above and the flags they raise.

    ``stored_fit``: the built-in Dawid-Skene's consensus of this table without gold, as stored
    (:class:`~workbench.aggregate.dawid_skene.StoredFit`): the confusion matrices are taken from its
    posteriors instead of fitting again (the same numbers); ignored with gold, or when it is not of
    this table."""
    if table.empty:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    from ..table.encode import shared_codes

    with shared_codes():  # the scores and the Dawid-Skene fit code the table once
        return _annotator_quality(with_long_columns(table), schema, gold, consensus, thresholds, units, stored_fit)


def _annotator_quality(table: pd.DataFrame, schema: LabelSchema, gold, consensus, thresholds: Thresholds,
                       units, stored_fit=None) -> pd.DataFrame:
    spans = schema.kind is LabelKind.SPANS
    # dicts are kept as they are: codes made from them are shared by identity (reference_codes)
    gold = gold if isinstance(gold, dict) else dict(gold or {})
    consensus = consensus if isinstance(consensus, dict) else dict(consensus or {})
    if spans:
        annotators = pd.Index(sorted(pd.unique(table["annotator"]), key=str))
        per = table.groupby("annotator", sort=False).size().reindex(annotators).to_numpy()
    else:  # from the codes: no grouping of a million ids
        from ..table.encode import encode

        enc = encode(table, schema)
        names = enc.annotator_names.tolist()
        order = sorted(range(len(names)), key=lambda i: str(names[i]))
        annotators = pd.Index([names[i] for i in order])
        per = enc.per_annotator()[order]
    def score(ref):
        return _span_scores(table, ref, annotators) if spans else _categorical_scores(table, ref, annotators, schema)

    gold_n, gold_acc = score(gold)
    _, cons = score(consensus) if consensus else (None, np.full(len(annotators), np.nan))
    if spans and len(annotators) >= 2:  # span tasks: the same measures over token tags
        ds_acc, spam, confusion = _span_ds_quality(table, schema, units, annotators)
    elif len(annotators) >= 2:
        ds_acc, spam, confusion = _ds_quality(table, schema, gold, annotators, stored_fit)
    else:
        ds_acc = spam = np.full(len(annotators), np.nan)
        confusion = [None] * len(annotators)
    flags = [flags_for(gold_n[i], gold_acc[i], cons[i], spam[i], thresholds) for i in range(len(annotators))]
    out = pd.DataFrame({
        "annotator": list(annotators), "n_annotations": per.astype(int), "gold_n": gold_n.astype(int),
        "gold_accuracy": gold_acc, "consensus_agreement": cons, "ds_accuracy": ds_acc,
        "spammer_score": spam, "flags": flags, "confusion": confusion,
    })
    return out.astype(object).where(out.notna(), None)
