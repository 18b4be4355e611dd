"""Scores of predictions against reference labels, with bootstrap intervals over units.

Choice tasks (single, ordinal): per class precision, recall, F1 and support, from the confusion
matrix (rows: reference, columns: prediction). A class with no prediction has precision 0, one
with no reference unit recall 0 (scikit-learn's ``zero_division=0``); macro-F1 averages the
classes that occur in the reference or the predictions (scikit-learn's default label set);
micro-F1 equals accuracy.

Label sets (multi) and span sets (spans) are scored on their items: a predicted label (or span,
exact offsets and label) is a true positive when the reference has it on the same unit. Per label:
precision, recall, F1 and support (reference items); micro figures pool every item; *accuracy* is
the share of units whose predicted set is exactly the reference set.

Calibration, when predictions carry a score (the model's probability for its label): the
reliability table over equal-width bins, the expected calibration error ``ECE = sum over bins
n_b / N * |accuracy_b - confidence_b|`` and the Brier score of the confidence against being
right (spans and label sets: right means the unit's whole set is right).

Intervals: units are resampled with replacement (:mod:`workbench.bootstrap`); accuracy, macro-F1
and micro-F1 are recomputed from the resampled confusion counts (for sets: per-label item counts).
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..bootstrap import LEVEL, RESAMPLES, interval_of, pattern_sums
from ..models import LabelKind, LabelSchema, Span

NONE_ROW = "(none)"
MISSED = "(missed)"
BINS = 10


def _ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def per_class_table(labels: list[str], tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> list[dict[str, Any]]:
    """Per class: precision, recall, F1 (0 when undefined, as scikit-learn's zero_division=0; None
    for a class with neither reference nor prediction), support and predicted count."""
    support, predicted = tp + fn, tp + fp
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * tp, support + predicted)
    rows = []
    for i, label in enumerate(labels):
        seen = support[i] + predicted[i] > 0
        rows.append({"label": label, "precision": float(precision[i]) if seen else None,
                     "recall": float(recall[i]) if seen else None, "f1": float(f1[i]) if seen else None,
                     "support": int(support[i]), "predicted": int(predicted[i])})
    return rows


def _macro_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> Any:
    """Mean F1 over the classes seen (last axis: classes); NaN when no class is seen."""
    den = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no class is seen
        return np.nanmean(np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan), axis=-1)


def _micro(tp, fp, fn):
    t, p, n = tp.sum(axis=-1), fp.sum(axis=-1), fn.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(t + p > 0, t / (t + p), np.nan), np.where(t + n > 0, t / (t + n), np.nan),
                np.where(2 * t + p + n > 0, 2 * t / (2 * t + p + n), np.nan))


def _plain(x) -> float | None:
    x = float(x)
    return None if x != x else x


def categorical_scores(truth: list, predicted: list, labels: list[str], resamples: int = RESAMPLES,
                       seed: int | None = 0, level: float = LEVEL) -> dict[str, Any]:
    """Scores of aligned reference and predicted labels (both from ``labels``)."""
    k, n = len(labels), len(truth)
    pos = {x: i for i, x in enumerate(labels)}
    t = np.fromiter((pos[x] for x in truth), dtype=np.int64, count=n)
    p = np.fromiter((pos[x] for x in predicted), dtype=np.int64, count=n)
    cell = t * k + p
    cm = np.bincount(cell, minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    accuracy = float(tp.sum() / n) if n else float("nan")
    out: dict[str, Any] = {
        "units": n, "accuracy": _plain(accuracy), "macro_f1": _plain(_macro_f1(tp, fp, fn)),
        "micro_f1": _plain(accuracy),
        "weighted_f1": _plain((_ratio(2 * tp, 2 * tp + fp + fn) * (tp + fn)).sum() / n) if n else None,
        "per_class": per_class_table(labels, tp, fp, fn),
        "confusion": {"rows": list(labels), "columns": list(labels), "matrix": cm.tolist(),
                      "note": "rows: reference label; columns: predicted label"},
    }
    if n >= 2 and resamples > 0:
        onehot = np.zeros((n, k * k))
        onehot[np.arange(n), cell] = 1.0
        sums = pattern_sums(onehot, resamples, seed, key=cell).reshape(resamples, k, k)
        diag = np.einsum("bii->bi", sums)
        col, row = sums.sum(axis=1), sums.sum(axis=2)
        acc = interval_of(lambda s: diag.sum(axis=1) / s.sum(axis=(1, 2)), sums, level)
        f1 = interval_of(lambda s: _macro_f1(diag, col - diag, row - diag), sums, level)
        out["accuracy_ci"], out["macro_f1_ci"], out["micro_f1_ci"] = acc.as_list(), f1.as_list(), acc.as_list()
    else:
        out["accuracy_ci"] = out["macro_f1_ci"] = out["micro_f1_ci"] = None
    return out


def _items(label: Any, kind: LabelKind) -> list[tuple]:
    """A set label's items: ``(class, start, end)`` for spans, ``(class,)`` for label sets."""
    if kind is LabelKind.SPANS:
        return [(s.label, s.start, s.end) for s in label if isinstance(s, Span)]
    return [(x,) for x in label]


def set_scores(truth: list, predicted: list, schema: LabelSchema, resamples: int = RESAMPLES,
               seed: int | None = 0, level: float = LEVEL) -> dict[str, Any]:
    """Item-level scores of aligned reference and predicted label sets or span sets."""
    labels, kind = list(schema.labels), schema.kind
    k, n = len(labels), len(truth)
    pos = {x: i for i, x in enumerate(labels)}
    counts = np.zeros((n, 3 * k + 1))  # per unit: tp, fp, fn per class, exact match
    for u, (ref, pred) in enumerate(zip(truth, predicted)):
        r, p = set(_items(ref, kind)), set(_items(pred, kind))
        for item in r & p:
            counts[u, pos[item[0]]] += 1
        for item in p - r:
            counts[u, k + pos[item[0]]] += 1
        for item in r - p:
            counts[u, 2 * k + pos[item[0]]] += 1
        counts[u, 3 * k] = float(r == p)
    total = counts.sum(axis=0)
    tp, fp, fn = total[:k], total[k:2 * k], total[2 * k:3 * k]
    precision, recall, f1 = _micro(tp, fp, fn)
    what = "span" if kind is LabelKind.SPANS else "label"
    out: dict[str, Any] = {
        "units": n, "accuracy": _plain(total[3 * k] / n) if n else None,
        "accuracy_note": f"share of units whose predicted {what} set equals the reference exactly",
        "macro_f1": _plain(_macro_f1(tp, fp, fn)), "micro_f1": _plain(f1), "micro_precision": _plain(precision),
        "micro_recall": _plain(recall), "items": {"reference": int(tp.sum() + fn.sum()),
                                                  "predicted": int(tp.sum() + fp.sum()), "matched": int(tp.sum())},
        "per_class": per_class_table(labels, tp, fp, fn),
        "confusion": span_confusion(truth, predicted, labels) if kind is LabelKind.SPANS else None,
    }
    if n >= 2 and resamples > 0:
        sums = pattern_sums(counts, resamples, seed)
        t, p_, f = sums[:, :k], sums[:, k:2 * k], sums[:, 2 * k:3 * k]
        out["accuracy_ci"] = interval_of(lambda s: s[:, 3 * k] / n, sums, level).as_list()
        out["macro_f1_ci"] = interval_of(lambda s: _macro_f1(t, p_, f), sums, level).as_list()
        out["micro_f1_ci"] = interval_of(lambda s: _micro(t, p_, f)[2], sums, level).as_list()
    else:
        out["accuracy_ci"] = out["macro_f1_ci"] = out["micro_f1_ci"] = None
    return out


def span_confusion(truth: list, predicted: list, labels: list[str]) -> dict[str, Any]:
    """Reference spans (rows) against the predicted span at the same offsets (columns): a reference
    span with none there is ``(missed)``; a predicted span where the reference has none is counted
    in the ``(none)`` row."""
    rows, cols = [*labels, NONE_ROW], [*labels, MISSED]
    r_at, c_at = {x: i for i, x in enumerate(rows)}, {x: i for i, x in enumerate(cols)}
    m = np.zeros((len(rows), len(cols)), dtype=np.int64)
    for ref, pred in zip(truth, predicted):
        g = {(s.start, s.end): s.label for s in ref}
        c = {(s.start, s.end): s.label for s in pred}
        for off, label in g.items():
            m[r_at[label], c_at[c.get(off, MISSED)]] += 1
        for off, label in c.items():
            if off not in g:
                m[r_at[NONE_ROW], c_at[label]] += 1
    return {"rows": rows, "columns": cols, "matrix": m.tolist(),
            "note": "rows: reference span label; columns: the predicted span's label at the same offsets"}


def calibration(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> dict[str, Any] | None:
    """Reliability over ``bins`` equal-width bins of the confidence; None without any score."""
    ok = ~np.isnan(confidence)
    if not ok.any():
        return None
    conf, right = confidence[ok], correct[ok].astype(float)
    which = np.minimum((conf * bins).astype(np.int64), bins - 1)
    n = np.bincount(which, minlength=bins)
    mean_conf = _ratio(np.bincount(which, weights=conf, minlength=bins), n)
    acc = _ratio(np.bincount(which, weights=right, minlength=bins), n)
    ece = float((n / len(conf) * np.abs(acc - mean_conf)).sum())
    table = [{"bin": f"{b / bins:.2f}-{(b + 1) / bins:.2f}", "n": int(n[b]),
              "confidence": float(mean_conf[b]) if n[b] else None, "accuracy": float(acc[b]) if n[b] else None,
              "gap": float(acc[b] - mean_conf[b]) if n[b] else None} for b in range(bins)]
    return {"ece": ece, "brier": float(((conf - right) ** 2).mean()), "bins": bins, "scored": int(ok.sum()),
            "without_score": int((~ok).sum()), "mean_confidence": float(conf.mean()),
            "accuracy": float(right.mean()), "table": table}


def score_against(predictions: pd.DataFrame, reference: Mapping[str, Any], schema: LabelSchema,
                  resamples: int = RESAMPLES, seed: int | None = 0, bins: int = BINS,
                  level: float = LEVEL) -> dict[str, Any]:
    """Scores of ``predictions`` (``unit, label, score``) on the units of ``reference`` it predicts."""
    pred = predictions[predictions["unit"].isin(list(reference.keys()))]
    units = list(pred["unit"])
    truth = [reference[u] for u in units]
    guess = list(pred["label"])
    base = {"reference_units": len(reference), "not_predicted": len(reference) - len(units)}
    if not units:
        return {**base, "units": 0, "note": "no predicted unit has a reference label"}
    if schema.kind in (LabelKind.SINGLE, LabelKind.ORDINAL):
        scores = categorical_scores(truth, guess, list(schema.labels), resamples, seed, level)
        correct = np.array([a == b for a, b in zip(truth, guess)])
    else:
        scores = set_scores(truth, guess, schema, resamples, seed, level)
        correct = np.array([set(_items(a, schema.kind)) == set(_items(b, schema.kind)) for a, b in zip(truth, guess)])
    cal = calibration(pred["score"].to_numpy(dtype=float), correct, bins)
    return {**base, **scores, "calibration": cal}
