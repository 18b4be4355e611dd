"""Dawid-Skene (full confusion matrices) and one-coin Dawid-Skene (one accuracy per annotator).

Both fit the model by EM on integer codes, starting from majority-vote shares, the same start
as crowd-kit. Each iteration is two sparse products with the units x (annotator, label) design
matrix (see :meth:`Encoded.design`):

- M step: ``counts = D.T @ posteriors`` gives, for every annotator and given label, the expected
  number of units of each true class; normalized, those are the confusion matrices.
- E step: ``D @ log(confusion)`` sums, per unit, the log-probability of its labels under each
  true class; adding the log prior and normalizing gives the new posteriors.

EM stops by crowd-kit's rule, so that both stop at the same iteration and give the same labels:
after each E and M step, :func:`objective` (crowd-kit's evidence lower bound: the log prior counted
once per annotation) per annotation is compared with the previous iteration's, and EM stops when it
went up by less than ``tol`` (or went down), or after ``max_iter`` iterations, which the notes then
say. (Before, it stopped when the log-likelihood per annotation improved by less than ``tol``,
earlier on slowly converging crowds: a long-tailed binary crowd stopped after 44 iterations where
crowd-kit runs 100, 1.7% of the labels different.) Units with a known gold label
(honeypots) have their posterior clamped to that label at every step, so they anchor the
confusion matrices.

Reference: A. P. Dawid and A. M. Skene (1979), Maximum likelihood estimation of observer
error-rates using the EM algorithm, JRSS C 28(1). One-coin: Zhang, Chen, Zhou and Jordan (2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema
from ..table.encode import Encoded, encode
from ..table.rows import row_max, row_sum
from . import AggregateResult, check_options, column_names, empty_result, posterior_result

EPS = 1e-10  # floor of every probability, as crowd-kit, so one unseen (annotator, label) is not log(0)
OPTIONS = ("max_iter", "tol")
#: options of the full model only: a Dirichlet prior on every confusion row (MAP instead of maximum likelihood)
PRIOR_OPTIONS = ("prior", "prior_accuracy")


@dataclass
class Fit:
    """What an EM run found: posteriors, class priors, confusion matrices and how it stopped."""

    posteriors: np.ndarray  # units x K
    priors: np.ndarray  # K
    confusion: np.ndarray  # annotators x K (true) x K (given): P(given | true)
    iterations: int
    converged: bool
    log_likelihood: float  # per annotation, at the last E step
    history: list[float]  # the stopping rule's measure (:func:`objective` per annotation), per iteration


def parse_options(method: str, options: dict) -> tuple[int, float]:
    check_options(method, options, OPTIONS + (PRIOR_OPTIONS if method == "dawid_skene" else ()))
    parse_prior(method, options)
    max_iter, tol = options.get("max_iter", 100), options.get("tol", 1e-5)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise WorkbenchError(f"{method}: max_iter: expected a whole number >= 1, got {max_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise WorkbenchError(f"{method}: tol: expected a number >= 0, got {tol!r}")
    return max_iter, float(tol)


def parse_prior(method: str, options: dict) -> tuple[float, float] | None:
    """``prior`` (pseudo-answers per confusion row, > 0; default none) and ``prior_accuracy`` (the prior's
    share on the diagonal, in (0, 1); default 0.7), or None when ``prior`` is not set."""
    strength, acc = options.get("prior"), options.get("prior_accuracy")
    if strength is not None and (isinstance(strength, bool) or not isinstance(strength, (int, float))
                                 or not 0 < strength < float("inf")):
        raise WorkbenchError(f"{method}: prior: expected a number of pseudo-answers > 0 per confusion row, got {strength!r}")
    if acc is not None:
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 < acc < 1:
            raise WorkbenchError(f"{method}: prior_accuracy: expected a share in (0, 1), got {acc!r}")
        if strength is None:
            raise WorkbenchError(f"{method}: prior_accuracy is set but prior is not (expected e.g. prior = 4)")
    return None if strength is None else (float(strength), 0.7 if acc is None else float(acc))


def prior_counts(k: int, strength: float, accuracy: float) -> np.ndarray:
    """The Dirichlet prior's pseudo-counts of one confusion row set, K (true) x K (given): ``strength``
    answers per true class, a share ``accuracy`` of them right and the rest spread over the other labels."""
    if k < 2:
        return np.full((max(k, 1), max(k, 1)), strength)
    alpha = np.full((k, k), strength * (1 - accuracy) / (k - 1))
    np.fill_diagonal(alpha, strength * accuracy)
    return alpha


def smoothed_confusion(expected: np.ndarray, n_annotators: int, k: int, alpha: np.ndarray) -> np.ndarray:
    """M step of the full model with a Dirichlet prior (MAP): P(given | true) from the expected counts
    [annotator, given, true] plus the pseudo-counts ``alpha`` [true, given]; every label gets some
    probability, so an annotator seen on one or two units stays near the prior instead of being
    taken as perfect on them."""
    e = expected.reshape(n_annotators, k, k).transpose(0, 2, 1) + alpha[None, :, :]  # [annotator, true, given]
    return e / e.sum(axis=2, keepdims=True)


def _clamp(post: np.ndarray, gold_units: np.ndarray, gold_labels: np.ndarray) -> np.ndarray:
    if len(gold_units):
        post[gold_units] = 0.0
        post[gold_units, gold_labels] = 1.0
    return post


def full_confusion(expected: np.ndarray, n_annotators: int, k: int) -> np.ndarray:
    """M step of the full model: P(given | true) from expected counts [annotator, given, true].

    Counts are floored at 1e-10 for the labels an annotator gave; a label they never gave gets
    probability 0 (crowd-kit keeps only the (worker, label) pairs of the data). So when nothing
    in an annotator's units points to some true class, their answers under it are spread over
    the labels they use, not over every label: someone who always answers "no" says "no" whatever
    the truth (a spammer), rather than "yes" half the time when the truth is "yes".
    """
    e = expected.reshape(n_annotators, k, k)
    given = e.sum(axis=2, keepdims=True) > 0  # rows of D.T @ q sum to how often the label was given
    counts = np.where(given, np.maximum(e, EPS), 0.0)
    counts /= counts.sum(axis=1, keepdims=True)
    return counts.transpose(0, 2, 1)  # -> [annotator, true, given]


def log_confusion(confusion: np.ndarray) -> np.ndarray:
    """log P(given | true) as rows annotator * K + given label (the design matrix's columns) x true class;
    a label an annotator never gave (probability 0) gets a finite stand-in no row ever multiplies."""
    n_ann, k = confusion.shape[0], confusion.shape[1]
    return np.log(np.maximum(confusion, 1e-300)).transpose(0, 2, 1).reshape(n_ann * k, k)


def _one_coin_confusion(expected: np.ndarray, n_annotators: int, k: int, per_annotator: np.ndarray) -> np.ndarray:
    """M step of the one-coin model: accuracy = expected share of right answers; errors spread evenly."""
    e = expected.reshape(n_annotators, k, k)
    skill = np.trace(e, axis1=1, axis2=2) / np.maximum(per_annotator, 1)
    skill = np.clip(skill, EPS, 1 - EPS)
    off = (1 - skill) / (k - 1) if k > 1 else np.zeros_like(skill)
    conf = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
    idx = np.arange(k)
    conf[:, idx, idx] = skill[:, None]
    return conf


def fit_em(enc: Encoded, m_step: Callable[[np.ndarray], np.ndarray], max_iter: int = 100, tol: float = 1e-5,
           gold: tuple[np.ndarray, np.ndarray] | None = None, alpha: np.ndarray | None = None) -> Fit:
    """EM for a per-annotator confusion model; ``m_step(expected_counts) -> confusion``.

    An iteration is an E step (posteriors from the current priors and confusion matrices) then an
    M step (priors and confusion matrices from those posteriors), then the stopping rule of
    crowd-kit's ``DawidSkene`` on :func:`objective`; the posteriors returned are the last E step's
    and the priors and confusion matrices the M step's that followed it, as crowd-kit's. ``alpha``: the
    Dirichlet prior's pseudo-counts [true, given] the M step adds (MAP); its log density is then added
    to the stopping rule's measure, which MAP EM increases.
    """
    design = enc.design()
    gu, gl = gold if gold is not None else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    post = _clamp(enc.counts() / enc.per_unit()[:, None], gu, gl)
    history: list[float] = []
    previous = -np.inf
    converged = False
    iterations = 0
    loglik = float("nan")
    n = max(enc.n_rows, 1)
    priors = post.mean(axis=0)
    confusion = m_step(np.asarray(design.T @ post))
    for iterations in range(1, max_iter + 1):
        # E step
        log_conf = log_confusion(confusion)
        log_prior = np.log(np.maximum(priors, EPS))
        scores = np.asarray(design @ log_conf) + log_prior
        top = row_max(scores)
        post = np.exp(scores - top[:, None])
        total = row_sum(post)
        post /= total[:, None]
        unit_loglik = np.log(total) + top
        if len(gu):  # a clamped unit contributes the likelihood of its known class only
            unit_loglik[gu] = scores[gu, gl]
            _clamp(post, gu, gl)
        total_loglik = float(unit_loglik.sum())
        loglik = total_loglik / n
        # M step
        priors = post.mean(axis=0)
        counts = np.asarray(design.T @ post)
        confusion = m_step(counts)
        # the posteriors' entropy without a log per unit and class: on a unit not clamped,
        # log q = scores - log Z, so -sum q log q = sum log Z - sum q . scores, and sum q . scores
        # comes from the small counts table; a clamped unit adds 0 on both sides
        expected = float((counts * log_conf).sum()) + float((priors * len(post)) @ log_prior)
        entropy = total_loglik - expected + _floored_cells(post)
        value = objective(post, priors, confusion, counts, entropy)
        if alpha is not None:
            value += float((alpha[None, :, :] * np.log(np.maximum(confusion, EPS))).sum())
        value /= n
        history.append(value)
        if value - previous < tol:
            converged = True
            break
        previous = value
    return Fit(post, priors, confusion, iterations, converged, loglik, history)


def _floored_cells(post: np.ndarray) -> float:
    """What crowd-kit's floor adds to the entropy: ``-EPS log EPS`` for every posterior below EPS
    (whose own ``-q log q`` is below 2.3e-9, and far below for the usual 1e-20)."""
    return float(np.count_nonzero(post < EPS)) * -EPS * np.log(EPS)


def objective(post: np.ndarray, priors: np.ndarray, confusion: np.ndarray, counts: np.ndarray,
              entropy: float | None = None) -> float:
    """crowd-kit's convergence measure (``DawidSkene._evidence_lower_bound``), summed over the table.

    The expected complete-data log-likelihood under the posteriors ``q`` plus their entropy, where
    (as crowd-kit does) the log prior is counted once per *annotation*, not once per unit:
    ``sum over rows (u, a, y), classes c of q[u, c] (log P_a(y | c) + log prior[c]) - sum q log q``,
    with ``q`` and the prior floored at 1e-10 inside the logs. ``counts`` is ``D.T @ q`` (the M step's
    input), so this costs no pass over the rows. ``entropy``:
    the posteriors' floored entropy when the caller has it (:func:`fit_em` gets it from the E step).
    """
    joint = float((counts * log_confusion(confusion)).sum())
    # sum over rows of q[u] . log prior: the columns of D.T @ q summed are sum over rows of q[u]
    joint += float(counts.sum(axis=0) @ np.log(np.maximum(priors, EPS)))
    if entropy is None:
        q = np.maximum(post, EPS)
        entropy = -float((q * np.log(q)).sum())
    return joint + entropy


def _notes(method: str, fit: Fit, max_iter: int, tol: float, n_gold: int) -> list[str]:
    if fit.converged:
        notes = [f"{method}: converged after {fit.iterations} EM iteration(s) "
                 f"(log-likelihood per annotation {fit.log_likelihood:.6f}; stopped when crowd-kit's bound per "
                 f"annotation changed by less than tol {tol:g})"]
    else:
        change = fit.history[-1] - fit.history[-2] if len(fit.history) > 1 else float("nan")
        notes = [f"{method}: did not converge: stopped at max_iter={max_iter} with the bound still changing by "
                 f"{change:.3g} per annotation (tol {tol:g}); labels are from the last iteration"]
    if n_gold:
        notes.append(f"{method}: {n_gold} gold unit(s) clamped to their gold label")
    return notes


def annotator_frame(enc: Encoded, fit: Fit) -> pd.DataFrame:
    k = enc.n_classes
    idx = np.arange(k)
    accuracy = (fit.confusion[:, idx, idx] * fit.priors[None, :]).sum(axis=1)
    return pd.DataFrame({
        "annotator": enc.annotator_names.to_numpy(),
        "n_annotations": enc.per_annotator(),
        "accuracy": accuracy,  # expected share right under the fitted model and class priors
        "confusion": list(fit.confusion),  # K x K: rows true class, columns given label
    })


@dataclass
class StoredFit:
    """A consensus of the built-in Dawid-Skene as the aggregate step stored it: per unit, in the
    order the fit coded them, its id, annotations and posteriors (columns ``classes``)."""

    units: list
    n_annotations: np.ndarray
    posteriors: np.ndarray  # units x classes, C order
    classes: list


def stored_annotators(enc: Encoded, stored: StoredFit) -> pd.DataFrame | None:
    """:func:`annotator_frame` of the full-model fit without gold whose posteriors ``stored`` holds, on
    the table coded as ``enc``: its last E step gave those posteriors, and the confusion matrices
    and class priors are the M step that followed (:func:`fit_em`), the same arithmetic on the same
    numbers, so the same bits as fitting again. None when ``stored`` is not of this table (other
    classes, other units or another order, other counts per unit)."""
    post = stored.posteriors
    if (stored.classes != column_names(enc.classes) or post.shape != (enc.n_units, enc.n_classes)
            or not np.array_equal(stored.n_annotations, enc.per_unit())
            or not pd.Index(enc.unit_names.to_numpy(dtype=object)).equals(pd.Index(stored.units, dtype=object))):
        return None
    post = np.ascontiguousarray(post, dtype=float)
    priors = post.mean(axis=0)
    confusion = full_confusion(np.asarray(enc.design().T @ post), enc.n_annotators, enc.n_classes)
    return annotator_frame(enc, Fit(post, priors, confusion, 0, True, float("nan"), []))


def _run(method: str, table: pd.DataFrame, schema: LabelSchema, gold, options: dict, one_coin: bool):
    max_iter, tol = parse_options(method, options)
    prior = parse_prior(method, options)
    if table.empty:
        return empty_result(method)
    enc = encode(table, schema)
    gu, gl = enc.gold_codes(gold)
    k, n_ann = enc.n_classes, enc.n_annotators
    if one_coin:
        per = enc.per_annotator()
        fit = fit_em(enc, lambda e: _one_coin_confusion(e, n_ann, k, per), max_iter, tol, (gu, gl))
    elif prior is not None:
        alpha = prior_counts(k, *prior)
        fit = fit_em(enc, lambda e: smoothed_confusion(e, n_ann, k, alpha), max_iter, tol, (gu, gl), alpha)
    else:
        fit = fit_em(enc, lambda e: full_confusion(e, n_ann, k), max_iter, tol, (gu, gl))
    notes = _notes(method, fit, max_iter, tol, len(gu))
    if prior is not None:
        notes.append(f"{method}: confusion rows with a Dirichlet prior worth {prior[0]:g} answer(s), "
                     f"{prior[1]:g} on the diagonal (MAP)")
    result = posterior_result(method, enc, fit.posteriors, notes, annotator_frame(enc, fit))
    return result


def dawid_skene(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """Dawid-Skene with a full confusion matrix per annotator. Options: ``max_iter`` (100), ``tol`` (1e-5),
    ``prior`` (none: maximum likelihood; a number: a Dirichlet prior on each confusion row worth that many
    answers, MAP) and ``prior_accuracy`` (0.7: the prior's share on the diagonal)."""
    return _run("dawid_skene", table, schema, gold, options, one_coin=False)


def one_coin_dawid_skene(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None,
                         **options) -> AggregateResult:
    """One-coin Dawid-Skene: one accuracy per annotator, errors spread evenly over the other labels."""
    return _run("one_coin_dawid_skene", table, schema, gold, options, one_coin=True)
