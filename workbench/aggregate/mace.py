"""MACE: Multi-Annotator Competence Estimation (Hovy, Berg-Kirkpatrick, Vaswani and Hovy, 2013).

Each annotator either knows the answer (probability ``competence``) and gives the true label, or
spams: picks a label from their own ``strategy`` distribution, whatever the truth. So
``P(given = y | true = t) = competence * [y == t] + (1 - competence) * strategy[y]``. A spammer
has competence near 0, however often they happen to agree with others.

The true label's prior is learned (``prior = "learned"``, the default: the classes' shares, a
point estimate updated at every iteration, as Dawid-Skene does) or uniform (``"uniform"``, as in
the paper and crowd-kit). The paper's uniform prior is wrong for skewed classes: a crowd where 88%
of the items are negative has the model explain that skew by the annotators' strategies instead,
which turns careful annotators' rare "yes" answers into spam. On the real product-matching crowd
of Wang et al. (2012: 8,315 binary items, 12% positive, 176 workers, 3 answers each) MACE with the
uniform prior is right on 0.82-0.83 of the items, with the learned prior 0.931 (Dawid-Skene: 0.939);
on balanced crowds the two agree. See docs/aggregation.md for crowd-kit's figure there.

Fitted by EM (``method = "em"``, with additive smoothing) or variational Bayes (``"vb"``, the
default, with Beta(``alpha``, ``beta``) on competence and a symmetric Dirichlet(``strategy_prior``)
on strategies, the paper's recommended setting), from ``restarts`` random starts; the run with the
best log-likelihood is kept. Like Dawid-Skene, every iteration is sparse products with the
units x (annotator, label) design matrix (the M step's only with each label's entries, see
:func:`_by_label`); gold units are clamped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema
from ..table.encode import Encoded, encode
from . import AggregateResult, check_options, empty_result, posterior_result

OPTIONS = ("restarts", "max_iter", "tol", "method", "prior", "alpha", "beta", "strategy_prior", "smoothing",
           "seed")
DEFAULTS = {"restarts": 10, "max_iter": 50, "tol": 1e-5, "method": "vb", "prior": "learned", "alpha": 0.5,
            "beta": 0.5, "strategy_prior": 10.0, "smoothing": None, "seed": 0}
EPS = 1e-10


def digamma(x: np.ndarray) -> np.ndarray:
    """The digamma function for x > 0: recurrence up to x >= 10, then the asymptotic series (|err| < 1e-13)."""
    x = np.asarray(x, dtype=float).copy()
    shift = np.zeros_like(x)
    for _ in range(10):  # psi(x) = psi(x + 1) - 1/x
        small = x < 10
        if not small.any():
            break
        shift[small] -= 1 / x[small]
        x[small] += 1
    inv = 1 / x
    inv2 = inv * inv
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return shift + np.log(x) - 0.5 * inv - series


def parse_options(options: dict) -> dict:
    check_options("mace", options, OPTIONS)
    opts = {**DEFAULTS, **options}
    if opts["method"] not in ("em", "vb"):
        raise WorkbenchError(f"mace: method: expected 'em' or 'vb', got {opts['method']!r}")
    if opts["prior"] not in ("learned", "uniform"):
        raise WorkbenchError(f"mace: prior: expected 'learned' or 'uniform', got {opts['prior']!r}")
    for name in ("restarts", "max_iter"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise WorkbenchError(f"mace: {name}: expected a whole number >= 1, got {v!r}")
    for name in ("alpha", "beta", "strategy_prior"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise WorkbenchError(f"mace: {name}: expected a number > 0, got {v!r}")
    return opts


#: the restarts of a table with at least this many rows are fitted on worker threads (numpy's
#: ufuncs and scipy's sparse products release the GIL), two on two cores or more. Each restart's
#: start is drawn beforehand, in the same order as one after the other, so each result is the same
#: as in a single thread, and so is the pick
PARALLEL_ROWS = 50_000
WORKERS = 2 if (os.cpu_count() or 1) >= 2 else 1


@dataclass
class _Prepared:
    """What every restart of one fit shares: the design matrix, the per-annotator counts, the gold."""

    enc: Encoded
    design: Any
    per_ann: np.ndarray  # labels per annotator
    given: np.ndarray  # [annotator, label]: how often each annotator gave each label
    gold: tuple[np.ndarray, np.ndarray]
    by_label: list  # per class y: the design's entries with label y, as annotators x units (_by_label)


def _prepare(enc: Encoded, gold: tuple[np.ndarray, np.ndarray]) -> _Prepared:
    k, n_ann = enc.n_classes, enc.n_annotators
    given = np.bincount(enc.annotator * k + enc.label, minlength=n_ann * k).reshape(n_ann, k).astype(float)
    design = enc.design()
    return _Prepared(enc, design, enc.per_annotator().astype(float), given, gold, _by_label(design, k))


def _by_label(design, k: int) -> list:
    """Per class ``y``: the annotators x units matrix (CSR) of the design's entries for label ``y``.
    The M step needs, per annotator and label ``y``, the posterior of class ``y`` summed over the
    units where the annotator gave ``y``: the diagonal of ``design.T @ post``, which is
    ``by_label[y] @ post[:, y]``, a third of the multiply-adds. Each annotator's entries are in unit
    order (scipy's CSC -> CSR keeps it), the order in which ``design.T @ post`` adds them, so the
    sums are the same bits."""
    by_code = design.T.tocsr()  # (annotator, label) x units; row a * k + y
    return [by_code[y::k] for y in range(k)]


def _e_product(design, k: int):
    """``f(table) -> design @ table`` (units x classes) for the E step. scipy's product allocates and
    zeroes a new units x classes result on every call; with scipy's own kernel at hand
    (``csr_matvecs``, what ``design @ table`` runs for a CSR matrix and a float64 table) the result
    is written into one buffer per fit, the same sums in the same order. Else the product itself."""
    try:
        from scipy.sparse import _sparsetools

        kernel = _sparsetools.csr_matvecs
    except (ImportError, AttributeError):  # pragma: no cover - another scipy
        kernel = None
    if kernel is None or design.format != "csr" or design.dtype != np.float64:
        return lambda table: np.asarray(design @ table)
    n_rows, n_cols = design.shape
    out = np.empty((n_rows, k))

    def product(table: np.ndarray) -> np.ndarray:
        out.fill(0.0)
        try:
            kernel(n_rows, n_cols, k, design.indptr, design.indices, design.data,
                   np.ascontiguousarray(table, dtype=np.float64).ravel(), out.ravel())
        except (TypeError, ValueError):  # pragma: no cover - a scipy whose private kernel takes other arguments
            return np.asarray(design @ table)
        return out

    return product


def _draw_start(rng: np.random.Generator, n_ann: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random start, as the reference implementation; ``know`` and ``spam`` weigh the two ways to answer."""
    know = rng.uniform(1, 1.5, n_ann)
    spam = rng.uniform(1, 1.5, n_ann)
    know, spam = know / (know + spam), spam / (know + spam)
    strategy = rng.uniform(1, 1.5, (n_ann, k))
    strategy /= strategy.sum(axis=1, keepdims=True)
    return know, spam, strategy


def _fit_once(prep: _Prepared, start: tuple[np.ndarray, np.ndarray, np.ndarray], opts: dict):
    enc = prep.enc
    k, n_ann = enc.n_classes, enc.n_annotators
    design = prep.design
    gu, gl = prep.gold
    per_ann, given = prep.per_ann, prep.given  # given: the ceiling of each annotator's spamming counts
    know, spam, strategy = start
    smoothing = opts["smoothing"] if opts["smoothing"] is not None else 0.01 / k
    previous, loglik, post = -np.inf, -np.inf, None
    log_prior = np.full(k, -np.log(k))
    idx = np.arange(k)
    n = max(enc.n_rows, 1)
    converged, iterations = False, 0
    # the posterior is kept class-major (classes x units, each class's row contiguous): the
    # element-wise work on it then runs over long contiguous rows, where on units x classes numpy
    # broadcast a units-long column over rows of K, one short inner loop per unit (half of each
    # iteration's element-wise time). The values, and the order of every sum, are as before
    post_t = np.empty((k, enc.n_units))
    e_product = _e_product(design, k)
    for iterations in range(1, opts["max_iter"] + 1):
        # E step: per (annotator, given label), log P(given | true) for every true class
        spam_part = spam[:, None] * strategy  # annotators x given
        table = np.repeat(np.log(spam_part)[:, :, None], k, axis=2)  # [annotator, given, true]
        table[:, idx, idx] = np.log(spam_part + know[:, None])
        scores = e_product(table.reshape(n_ann * k, k))  # units x classes
        for j in range(k):
            np.add(scores[:, j], log_prior[j], out=post_t[j])
        on_gold = post_t[gl, gu] if len(gu) else None  # a copy (fancy indexing), before scores turn into post
        top = post_t[0].copy()  # row_max's order
        for j in range(1, k):
            np.maximum(top, post_t[j], out=top)
        post_t -= top
        np.exp(post_t, out=post_t)
        if k > 32:  # row_sum's numpy sum along each unit's row (pairwise: another order)
            total = np.ascontiguousarray(post_t.T).sum(axis=1)
        else:  # row_sum's order
            total = post_t[0].copy()
            for j in range(1, k):
                total += post_t[j]
        post_t /= total
        per_unit = np.log(total, out=total)
        per_unit += top
        if len(gu):
            per_unit[gu] = on_gold
            post_t[:, gu] = 0.0
            post_t[gl, gu] = 1.0
        loglik = float(per_unit.sum()) / n
        if loglik - previous < opts["tol"]:
            converged = True
            break
        previous = loglik
        if opts["prior"] == "learned":
            # column by column: numpy's mean over axis 0 of a units x K array took 10x as long
            log_prior = np.log(np.maximum(np.array([post_t[j].mean() for j in range(k)]), EPS))
        # expected counts: a label equal to the truth was "known" with P = know / (know + spam * s[y])
        right = np.empty((n_ann, k))  # [annotator, given == true]
        for y in range(k):
            right[:, y] = prep.by_label[y] @ post_t[y]
        knew_given = right * know[:, None] / (know[:, None] + spam_part)
        knew = knew_given.sum(axis=1)
        spammed = given - knew_given  # [annotator, label]: expected spam answers per label
        if opts["method"] == "em":
            know = (knew + smoothing) / (per_ann + 2 * smoothing)
            spam = 1 - know
            strategy = (spammed + smoothing) / (spammed.sum(axis=1, keepdims=True) + k * smoothing)
        else:  # mean-field VB: geometric means of the Beta and Dirichlet posteriors (not normalized)
            a_post, b_post = knew + opts["alpha"], (per_ann - knew) + opts["beta"]
            norm = digamma(a_post + b_post)
            know, spam = np.exp(digamma(a_post) - norm), np.exp(digamma(b_post) - norm)
            s_post = spammed + opts["strategy_prior"]
            strategy = np.exp(digamma(s_post) - digamma(s_post.sum(axis=1, keepdims=True)))
        know, spam = np.maximum(know, 1e-10), np.maximum(spam, 1e-10)
    competence = know / (know + spam)
    post = np.ascontiguousarray(post_t.T)  # units x classes, as callers read it
    return loglik, post, competence, strategy, np.exp(log_prior), iterations, converged


def _run_all(prep: _Prepared, starts: list, opts: dict) -> Iterator[tuple]:
    """Each restart's fit, in restart order; on :data:`WORKERS` threads for a big table."""
    workers = min(WORKERS, len(starts)) if prep.enc.n_rows >= PARALLEL_ROWS else 1
    if workers <= 1:
        for start in starts:
            yield _fit_once(prep, start, opts)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-mace") as pool:
        yield from pool.map(lambda start: _fit_once(prep, start, opts), starts)


def mace(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """MACE. Options: restarts (10), max_iter (50), tol (1e-5), method ("vb" or "em"), prior ("learned" or
    "uniform": the true label's prior), alpha, beta (0.5, 0.5: Beta prior on competence), strategy_prior
    (10), smoothing (EM; 0.01 / K), seed (0)."""
    opts = parse_options(options)
    if table.empty:
        return empty_result("mace")
    enc = encode(table, schema)
    gold_codes = enc.gold_codes(gold)
    rng = np.random.default_rng(opts["seed"])
    prep = _prepare(enc, gold_codes)
    starts = [_draw_start(rng, enc.n_annotators, enc.n_classes) for _ in range(opts["restarts"])]
    best = None
    for run in _run_all(prep, starts, opts):  # in restart order: a tie keeps the earlier run
        if best is None or run[0] > best[0]:
            best = run
    loglik, post, competence, strategy, prior, iterations, converged = best
    how = (f"converged after {iterations} iteration(s)" if converged else
           f"stopped at max_iter={opts['max_iter']} before converging (tol {opts['tol']:g})")
    shares = ", ".join(f"{c} {p:.3f}" for c, p in zip(enc.classes, prior))
    notes = [f"mace ({opts['method']}, {opts['prior']} prior): best of {opts['restarts']} restart(s), {how}, "
             f"log-likelihood per annotation {loglik:.6f}"
             + (f"; class prior {shares}" if opts["prior"] == "learned" else "")]
    if len(gold_codes[0]):
        notes.append(f"mace: {len(gold_codes[0])} gold unit(s) clamped to their gold label")
    info = pd.DataFrame({"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator(),
                         "competence": competence, "strategy": list(strategy)})
    return posterior_result("mace", enc, post, notes, info)
