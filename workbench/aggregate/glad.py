"""GLAD: Generative model of Labels, Abilities and Difficulties (Whitehill, Ruvolo, Wu, Bergsma and
Movellan, 2009).

Annotator ``i`` has an ability ``alpha_i`` (any real: negative is worse than chance), unit ``j`` an
inverse difficulty ``exp(beta_j)`` (the parameter is its log, so it stays positive). The annotator
gives the true label with probability ``a = sigmoid(alpha_i * exp(beta_j))``, else one of the other
``K - 1`` labels uniformly::

    P(given = y | true = t) = a                 if y == t
                            = (1 - a) / (K - 1) otherwise

The same model, priors and stopping as crowd-kit's ``GLAD``: a uniform prior over the true label
(fixed), Normal(1, 1) priors on ``alpha`` and on ``beta``, both started at 1; EM where the E step
gives the posteriors of the true labels and the M step maximizes the expected log-likelihood plus
the log priors over all ``alpha`` and ``beta`` by conjugate gradient (scipy, ``m_step_max_iter``
iterations at most, tolerance ``m_step_tol``). EM stops when that objective, per annotation and
class, improves by less than ``tol``, or after ``max_iter`` iterations (the notes say which).

Unlike crowd-kit (a pandas join and group-by per objective evaluation), every quantity is one
vectorized pass over the rows: the E step sums per-row log-probabilities with ``bincount``, and the
objective and its gradient only need, per row, the posterior of the label it gave. As in
crowd-kit, the posteriors (and labels) are those of the last E step, the ones the last M step was
fitted to (a further E step with the final abilities changed 1.75% of the labels on a 400-unit
binary crowd that stopped after two iterations). The objective is the EM surrogate, not the
likelihood: it can go down from one iteration to the next, and EM then stops (as crowd-kit does;
the note says so). Gold units (honeypots) have their posterior clamped to the gold label at every step.

``K`` is the number of labels in the schema (crowd-kit uses the number of labels that occur).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema
from ..table.encode import encode
from ..table.rows import row_max, row_sum
from . import AggregateResult, check_options, empty_result, posterior_result

OPTIONS = ("max_iter", "tol", "m_step_max_iter", "m_step_tol")
DEFAULTS = {"max_iter": 100, "tol": 1e-5, "m_step_max_iter": 25, "m_step_tol": 1e-2}
PRIOR_MEAN = 1.0  # of alpha and of beta (the log inverse difficulty), as crowd-kit
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def parse_options(options: dict) -> dict:
    check_options("glad", options, OPTIONS)
    opts = {**DEFAULTS, **options}
    for name in ("max_iter", "m_step_max_iter"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise WorkbenchError(f"glad: {name}: expected a whole number >= 1, got {v!r}")
    for name in ("tol", "m_step_tol"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise WorkbenchError(f"glad: {name}: expected a number >= 0, got {v!r}")
    return opts


def _log_sigmoids(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log(sigmoid(x)), log(1 - sigmoid(x)) and sigmoid(x), stable for large |x|: one exp and one log1p
    per value (``logaddexp`` twice costs four), as ``log(1 - sigmoid(x)) = log(sigmoid(x)) - x``."""
    # in (0, 1]: no overflow; |x| capped where exp(-|x|) would be subnormal (slow arithmetic on most
    # CPUs; a factor of ten on GLAD's M step once some abilities x difficulties pass 708)
    e = np.exp(-np.minimum(np.abs(x), 700.0))
    one_plus = 1.0 + e
    log_right = -np.log1p(e)
    log_right -= np.maximum(-x, 0.0)
    sigmoid = np.where(x >= 0, 1.0, e) / one_plus
    return log_right, log_right - x, sigmoid


class _Model:
    """The rows as codes and the fixed parts of GLAD's likelihood."""

    def __init__(self, unit, annotator, label, n_units, n_annotators, k, gold):
        self.u, self.a, self.y = unit, annotator, label.astype(np.int64)
        self.n_units, self.n_annotators, self.k = n_units, n_annotators, k
        self.cell = self.u * k + self.y  # (unit, given label) of each row
        self.log_k1 = np.log(k - 1)
        self.log_prior = -np.log(k)  # uniform over the K labels, fixed
        self.gold_units, self.gold_labels = gold

    def e_step(self, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Posteriors (units x K) of the true label."""
        log_right, log_wrong, _ = _log_sigmoids(alpha[self.a] * np.exp(beta)[self.u])
        log_wrong -= self.log_k1  # each of the K - 1 wrong labels
        # every class gets each row's "wrong" term; the given label gets (right - wrong) on top
        base = np.bincount(self.u, weights=log_wrong, minlength=self.n_units)
        scores = np.bincount(self.cell, weights=log_right - log_wrong,
                             minlength=self.n_units * self.k).reshape(self.n_units, self.k)
        scores += base[:, None] + self.log_prior
        top = row_max(scores)
        post = np.exp(scores - top[:, None])
        post /= row_sum(post)[:, None]
        if len(self.gold_units):
            post[self.gold_units] = 0.0
            post[self.gold_units, self.gold_labels] = 1.0
        return post

    def objective(self, x: np.ndarray, q: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus (expected log-likelihood + log priors) and its gradient, at ``x = [alpha, beta]``;
        ``q``: per row, the posterior of the label the row gave (fixed during the M step)."""
        na = self.n_annotators
        alpha, beta = x[:na], x[na:]
        eb = np.exp(beta)[self.u]
        ab = alpha[self.a] * eb
        log_right, log_wrong, sigmoid = _log_sigmoids(ab)
        # sum over the true classes c of P(c) * log P(given | c): the given label is right with
        # probability q, one of the wrong ones otherwise
        # q * log_right + (1 - q) * (log_wrong - log(K-1)), with log_right - log_wrong = ab
        value = float(np.dot(q, ab) + log_wrong.sum() - self.log_k1 * (len(q) - q.sum()))
        da, db = alpha - PRIOR_MEAN, beta - PRIOR_MEAN
        value -= 0.5 * (float(np.dot(da, da)) + float(np.dot(db, db))) + _HALF_LOG_2PI * len(x)
        resid = q - sigmoid  # d/d(ab) of the row's expected log-likelihood
        grad = np.empty_like(x)
        grad[:na] = np.bincount(self.a, weights=resid * eb, minlength=na) - da
        grad[na:] = np.bincount(self.u, weights=resid * ab, minlength=self.n_units) - db
        return -value, -grad

    def q_of(self, post: np.ndarray) -> np.ndarray:
        return post.reshape(-1)[self.cell]


def fit(model: _Model, opts: dict):
    """EM as crowd-kit's GLAD.fit: (alpha, beta, posteriors of the last E step, iterations, stopped by tol,
    objective history)."""
    from scipy.optimize import minimize

    with _one_blas_thread():
        return _fit(model, opts, minimize)


def _one_blas_thread():
    """The M step's vector operations (scipy's line search: dot products of length units + annotators)
    on one BLAS thread: threaded level-1 BLAS gains nothing there, and on a busy machine its spinning
    threads made GLAD on a million rows four times slower (20 s against 5.7 s). Needs threadpoolctl
    (installed with scikit-learn); without it, nothing changes."""
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fit(model: _Model, opts: dict, minimize):
    alpha = np.full(model.n_annotators, 1.0)
    beta = np.full(model.n_units, 1.0)
    x = np.concatenate([alpha, beta])
    n = max(len(model.u) * model.k, 1)  # crowd-kit's objective is per (row, class) pair
    history: list[float] = []
    previous = -np.inf
    converged = False
    iterations = 0
    for iterations in range(1, opts["max_iter"] + 1):
        post = model.e_step(x[:model.n_annotators], x[model.n_annotators:])
        q = model.q_of(post)
        res = minimize(model.objective, x, args=(q,), jac=True, method="CG", tol=opts["m_step_tol"],
                       options={"maxiter": opts["m_step_max_iter"], "disp": False})
        x = res.x
        value = -float(model.objective(x, q)[0]) / n
        history.append(value)
        if value - previous < opts["tol"]:
            converged = True
            break
        previous = value
    alpha, beta = x[:model.n_annotators], x[model.n_annotators:]
    return alpha, beta, post, iterations, converged, history


def glad(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """GLAD. Options: max_iter (100), tol (1e-5), m_step_max_iter (25), m_step_tol (1e-2)."""
    opts = parse_options(options)
    if table.empty:
        return empty_result("glad")
    enc = encode(table, schema)
    k = enc.n_classes
    gu, gl = enc.gold_codes(gold)
    info_cols = {"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator()}
    if k < 2:  # one possible label: nothing to infer
        post = np.ones((enc.n_units, 1))
        info = pd.DataFrame({**info_cols, "ability": np.nan})
        return posterior_result("glad", enc, post, ["glad: the schema has one label; every unit gets it"], info)
    model = _Model(enc.unit, enc.annotator, enc.label, enc.n_units, enc.n_annotators, k, (gu, gl))
    alpha, beta, post, iterations, converged, history = fit(model, opts)
    if converged:
        change = history[-1] - history[-2] if len(history) > 1 else float("nan")
        how = "went down" if change < 0 else "rose"
        notes = [f"glad: stopped after {iterations} EM iteration(s): the objective per annotation and class "
                 f"{how} by {abs(change):.3g} (< tol {opts['tol']:g}; now {history[-1]:.6f})"]
    else:
        change = history[-1] - history[-2] if len(history) > 1 else float("nan")
        notes = [f"glad: did not converge: stopped at max_iter={opts['max_iter']} with the objective still "
                 f"changing by {change:.3g} (tol {opts['tol']:g}); labels are from the last iteration"]
    if len(gu):
        notes.append(f"glad: {len(gu)} gold unit(s) clamped to their gold label")
    info = pd.DataFrame({**info_cols, "ability": alpha})
    result = posterior_result("glad", enc, post, notes, info)
    # 1 / exp(beta): larger is harder; with the labels, for review queues
    result.labels["difficulty"] = np.exp(-beta)
    return result
