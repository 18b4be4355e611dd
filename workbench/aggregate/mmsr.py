"""M-MSR: Matrix Mean-Subsequence-Reduced (Ma and Olshevsky 2020, "Adversarial crowdsourcing through
robust rank-one matrix completion", NeurIPS).

Each annotator ``i`` has a skill ``s_i``: ``P(right) = s_i (K - 1) / K + 1 / K`` (``s = 0`` is
chance, ``s = 1`` always right). For two annotators ``i, j`` with units in common, ``C_ij = (K / (K -
1)) * agree_ij - 1 / (K - 1)`` (``agree``: the share of their common units on which they gave the same
label) has expectation ``s_i s_j``: the skills are a rank-one completion of ``C``. M-MSR finds it
robustly: ``|C| ~ u v^T`` by alternating updates where each entry of ``u`` (and ``v``) becomes the
mean of its candidate values after dropping the ``F`` largest and ``F`` smallest on either side of the
current value (``F = floor(d / 2) - 1``, ``d`` the fewest co-annotators any annotator has), until
``u v^T`` moves by less than ``tol`` (Frobenius) or ``max_iter`` rounds. Signs come from a
spectral two-colouring of the signed graph of ``C``; skills are clipped to ``[-1 / (K - 1) + 1 /
sqrt(n), 1 - 1 / sqrt(n)]`` (``n`` units). A unit's label is the vote weighted by ``log((K - 1) p_i / (1
- p_i))``, and its posterior the softmax of those weighted votes (the one-coin model's posterior with
these accuracies and a uniform prior).

The same algorithm, start (uniform draws from ``seed``) and stopping as crowd-kit's ``MMSR``, with
two differences: the co-agreement matrix comes from two sparse products (no loop over annotator
pairs and rows), each round updates all entries at once (the updates of one side do not depend on
each other, so this is what crowd-kit's per-entry loop computes), and ``F`` is at least 0 (crowd-kit
keeps only the largest candidate when an annotator shares units with fewer than two others).
``K`` is the number of labels in the schema. An annotator who shares no unit with anyone has no
skill estimate and weighs 0; a unit whose voters all weigh 0 (those, or skills clipped to chance)
gets its plain vote shares, as ``wawa`` and ``weighted_majority`` do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema
from ..table.encode import encode
from ..table.rows import row_max, row_sum
from . import AggregateResult, check_options, empty_result, posterior_result

OPTIONS = ("max_iter", "tol", "seed")
DEFAULTS = {"max_iter": 10000, "tol": 1e-10, "seed": 0}


def parse_options(options: dict) -> dict:
    check_options("mmsr", options, OPTIONS)
    opts = {**DEFAULTS, **options}
    for name in ("max_iter", "seed"):
        v = opts[name]
        low = 1 if name == "max_iter" else 0
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise WorkbenchError(f"mmsr: {name}: expected a whole number >= {low}, got {v!r}")
    v = opts["tol"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
        raise WorkbenchError(f"mmsr: tol: expected a number >= 0, got {v!r}")
    return opts


def covariation(enc, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(C, common): annotators x annotators; ``common[i, j]`` units labeled by both (0 on the diagonal)."""
    from scipy import sparse

    na, nu = enc.n_annotators, enc.n_units
    ones = np.ones(enc.n_rows)
    seen = sparse.csr_matrix((ones, (enc.annotator, enc.unit)), shape=(na, nu))
    said = sparse.csr_matrix((ones, (enc.annotator, enc.unit * k + enc.label.astype(np.int64))), shape=(na, nu * k))
    common = np.asarray((seen @ seen.T).todense())
    agree = np.asarray((said @ said.T).todense())
    np.fill_diagonal(common, 0)
    cov = np.divide(agree, common, out=np.zeros_like(agree), where=common > 0)
    cov = cov * k / (k - 1) - 1 / (k - 1)  # pairs with nothing in common (and i == j): -1 / (K - 1), as crowd-kit
    return cov, common


def _trimmed_means(values: np.ndarray, observed: np.ndarray, current: np.ndarray, f: int,
                   n_units: int) -> np.ndarray:
    """Per column j: the mean of ``values[observed[:, j], j]`` after dropping up to ``f`` values below
    ``current[j]`` (the smallest) and up to ``f`` above it (the largest); ``current`` where none is left."""
    n_obs = observed.sum(axis=0)
    below = (observed & (values < current[None, :])).sum(axis=0)
    above = (observed & (values > current[None, :])).sum(axis=0)
    low, high = np.minimum(f, below), np.minimum(f, above)
    ordered = np.sort(np.where(observed, values, np.inf), axis=0)
    ordered[~np.isfinite(ordered)] = 0.0
    csum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(ordered, axis=0)])
    cols = np.arange(values.shape[1])
    count = n_obs - low - high
    total = csum[n_obs - high, cols] - csum[low, cols]
    out = current.copy()
    some = count > 0
    out[some] = total[some] / count[some]
    zero_single = (count == 1) & (total == 0)
    out[zero_single] = 1 / np.sqrt(n_units)
    return out


def _signs(cov: np.ndarray, s_abs: np.ndarray) -> np.ndarray:
    """crowd-kit's sign determination: a spectral two-colouring of the signed graph of ``cov``.

    Negative entries join two annotators of opposite sign, positive ones (through an extra node each)
    two of the same sign; the eigenvector of the random walk's eigenvalue closest to -1 colours the
    graph. Computed on the symmetric normalized matrix (same eigenvalues; eigenvectors differ by the
    positive factor D^-1/2, which keeps the signs). The colour held by most annotators is positive."""
    from scipy import sparse

    n = len(s_abs)
    valid = np.flatnonzero(cov.sum(axis=1) != 0)
    out = np.zeros(n)
    if len(valid) == 0:
        return out
    s = np.sign(cov[np.ix_(valid, valid)])
    kv = len(valid)
    pi, pj = np.nonzero(np.triu(s) == 1)
    neg = np.abs(np.where(s == 1, 0.0, s))
    m = len(pi)
    aux = np.arange(kv, kv + m)
    rows = np.concatenate([np.nonzero(neg)[0], pi, pj, aux, aux])
    cols = np.concatenate([np.nonzero(neg)[1], aux, aux, pi, pj])
    size = kv + m
    adj = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    inv = 1 / np.sqrt(np.asarray(adj.sum(axis=1)).ravel())
    sym = sparse.diags(inv) @ adj @ sparse.diags(inv)
    vec = None
    if size > 300:  # one extremal eigenpair of a sparse matrix: Lanczos, from a fixed start (reproducible)
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh

        try:
            _, vecs = eigsh(sym, k=1, which="SA", v0=np.ones(size), tol=1e-12, maxiter=100 * size)
            vec = vecs[:, 0]
        except ArpackNoConvergence:
            vec = None
    if vec is None:
        _, vecs = np.linalg.eigh(sym.toarray())
        vec = vecs[:, 0]
    colour = np.sign(vec * inv)[:kv]
    out[valid] = np.sign(colour.sum()) * s_abs[valid] * colour
    return out


def fit(enc, k: int, opts: dict) -> tuple[np.ndarray, int, bool, np.ndarray]:
    """Per annotator, the probability of a right answer; the rounds run; whether it converged; who shares
    no unit with anyone."""
    cov, common = covariation(enc, k)
    na, n_units = enc.n_annotators, enc.n_units
    observed = common != 0
    sparsity = int((common != 0).sum(axis=0).min()) if na else 0
    f = max(sparsity // 2 - 1, 0)
    start = np.random.RandomState(opts["seed"]).uniform(size=na)  # crowd-kit draws u and v from the same seed
    u, v = start.copy(), start.copy()
    x = np.abs(cov)
    rounds, converged = 0, False
    for rounds in range(1, opts["max_iter"] + 1):
        u_prev, v_prev = u, v
        with np.errstate(divide="ignore", invalid="ignore"):
            v = _trimmed_means(x / u[:, None], observed, v, f, n_units)
            u = _trimmed_means((x / v[None, :]).T, observed.T, u, f, n_units)
        change = np.outer(u, v) - np.outer(u_prev, v_prev)
        # the Frobenius norm without BLAS (np.linalg.norm's dot): a threaded dot of 40 000 numbers per
        # round spun its threads for 20 ms a call on a busy machine, most of M-MSR's time
        loss = float(np.sqrt(np.einsum("ij,ij->", change, change)))
        if loss < opts["tol"]:
            converged = True
            break
    scale = np.sqrt(np.linalg.norm(u) / np.linalg.norm(v))
    skill = _signs(cov, u / scale)
    skill = np.minimum(skill, 1 - 1 / np.sqrt(n_units))
    skill = np.maximum(skill, -1 / (k - 1) + 1 / np.sqrt(n_units))
    return skill * (k - 1) / k + 1 / k, rounds, converged, ~observed.any(axis=0)


def mmsr(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """M-MSR. Options: max_iter (10000), tol (1e-10), seed (0: the random start)."""
    opts = parse_options(options)
    if table.empty:
        return empty_result("mmsr")
    enc = encode(table, schema)
    k = enc.n_classes
    if k < 2:
        post = np.ones((enc.n_units, 1))
        return posterior_result("mmsr", enc, post, ["mmsr: the schema has one label; every unit gets it"])
    p, rounds, converged, alone = fit(enc, k, opts)
    weight = np.log(p * (k - 1) / (1 - p))
    weight[alone | (np.abs(weight) < 1e-12)] = 0.0  # alone: no unit shared with anyone, no skill estimate
    scores = enc.counts(weights=weight[enc.annotator])
    counts = enc.counts()
    voters = enc.counts(weights=(weight[enc.annotator] != 0).astype(float)).sum(axis=1)
    unweighed = voters == 0  # every voter of the unit weighs 0: their plain vote decides
    scores[unweighed] = np.log(np.maximum(counts[unweighed], 1e-300))  # softmax of log counts = shares
    top = row_max(scores)
    post = np.exp(scores - top[:, None])
    post /= row_sum(post)[:, None]
    notes = [f"mmsr: {'converged after' if converged else 'did not converge in'} {rounds} round(s) "
             f"(tol {opts['tol']:g}); labels are votes weighted by log((K-1) p / (1-p))"]
    if alone.any():
        notes.append(f"mmsr: {int(alone.sum())} annotator(s) share no unit with anyone: weight 0")
    if unweighed.any():
        notes.append(f"mmsr: {int(unweighed.sum())} unit(s) had only zero-weight voters: plain vote shares used there")
    info = pd.DataFrame({"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator(),
                         "accuracy": p, "weight": weight})
    return posterior_result("mmsr", enc, post, notes, info)
