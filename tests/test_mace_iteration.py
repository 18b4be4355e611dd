"""MACE's iteration (class-major posterior, the M step's per-label products) gives the same bits as
the plain form it replaced: units x classes posteriors and the diagonal of ``design.T @ post``."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.aggregate import mace as M
from workbench.models import LabelKind, LabelSchema
from workbench.table.encode import encode
from workbench.table.rows import row_max, row_sum

from benchmarks.crowd import make_crowd


def plain_fit_once(prep, start, opts):
    """The iteration as it was written before (units x classes throughout), for comparison."""
    enc = prep.enc
    k, n_ann = enc.n_classes, enc.n_annotators
    design = prep.design
    gu, gl = prep.gold
    per_ann, given = prep.per_ann, prep.given
    know, spam, strategy = start
    smoothing = opts["smoothing"] if opts["smoothing"] is not None else 0.01 / k
    previous, loglik, post = -np.inf, -np.inf, None
    log_prior = np.full(k, -np.log(k))
    idx = np.arange(k)
    n = max(enc.n_rows, 1)
    converged, iterations = False, 0
    for iterations in range(1, opts["max_iter"] + 1):
        spam_part = spam[:, None] * strategy
        table = np.repeat(np.log(spam_part)[:, :, None], k, axis=2)
        table[:, idx, idx] = np.log(spam_part + know[:, None])
        scores = np.asarray(design @ table.reshape(n_ann * k, k))
        scores += log_prior
        on_gold = scores[gu, gl] if len(gu) else None
        top = row_max(scores)
        scores -= top[:, None]
        post = np.exp(scores, out=scores)
        total = row_sum(post)
        post /= total[:, None]
        per_unit = np.log(total, out=total)
        per_unit += top
        if len(gu):
            per_unit[gu] = on_gold
            post[gu] = 0.0
            post[gu, gl] = 1.0
        loglik = float(per_unit.sum()) / n
        if loglik - previous < opts["tol"]:
            converged = True
            break
        previous = loglik
        if opts["prior"] == "learned":
            log_prior = np.log(np.maximum(np.array([post[:, j].mean() for j in range(k)]), M.EPS))
        right = np.asarray(design.T @ post).reshape(n_ann, k, k)[:, idx, idx]
        knew_given = right * know[:, None] / (know[:, None] + spam_part)
        knew = knew_given.sum(axis=1)
        spammed = given - knew_given
        if opts["method"] == "em":
            know = (knew + smoothing) / (per_ann + 2 * smoothing)
            spam = 1 - know
            strategy = (spammed + smoothing) / (spammed.sum(axis=1, keepdims=True) + k * smoothing)
        else:
            a_post, b_post = knew + opts["alpha"], (per_ann - knew) + opts["beta"]
            norm = M.digamma(a_post + b_post)
            know, spam = np.exp(M.digamma(a_post) - norm), np.exp(M.digamma(b_post) - norm)
            s_post = spammed + opts["strategy_prior"]
            strategy = np.exp(M.digamma(s_post) - M.digamma(s_post.sum(axis=1, keepdims=True)))
        know, spam = np.maximum(know, 1e-10), np.maximum(spam, 1e-10)
    competence = know / (know + spam)
    return loglik, post, competence, strategy, np.exp(log_prior), iterations, converged


@pytest.mark.parametrize("k, shuffle, method, prior, with_gold", [
    (3, False, "vb", "learned", True), (3, True, "em", "learned", False), (2, True, "vb", "uniform", True),
    (5, False, "em", "uniform", True), (34, True, "vb", "learned", True),  # > 32 classes: row sums by numpy
])
def test_iteration_is_bit_for_bit_the_plain_one(k, shuffle, method, prior, with_gold):
    crowd = make_crowd(n_tasks=600, n_workers=15, n_classes=k, overlap=4, spammers=0.2, biased=0.1, seed=k,
                       shuffle=shuffle)
    table = crowd.long_table()
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    enc = encode(table, schema)
    gold = {u: crowd.truth[u] for u in crowd.truth.index[::7]} if with_gold else None
    prep = M._prepare(enc, enc.gold_codes(gold))
    opts = M.parse_options({"method": method, "prior": prior, "max_iter": 30})
    rng = np.random.default_rng(5)
    for _ in range(3):
        start = M._draw_start(rng, enc.n_annotators, enc.n_classes)
        got, want = M._fit_once(prep, start, opts), plain_fit_once(prep, start, opts)
        assert got[0] == want[0] and got[5:] == want[5:]  # log-likelihood, iterations, converged
        for a, b in zip(got[1:5], want[1:5]):  # posteriors, competence, strategies, prior
            assert a.shape == b.shape and a.tobytes() == b.tobytes()
        assert got[1].flags.c_contiguous


def test_by_label_is_the_diagonal_of_the_design_product():
    crowd = make_crowd(n_tasks=300, n_workers=12, n_classes=4, overlap=5, seed=9, shuffle=True)
    enc = encode(crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes))
    design, k, n_ann = enc.design(), enc.n_classes, enc.n_annotators
    post = np.random.default_rng(1).random((enc.n_units, k))
    want = np.asarray(design.T @ post).reshape(n_ann, k, k)[:, np.arange(k), np.arange(k)]
    by_label = M._by_label(design, k)
    got = np.stack([by_label[y] @ np.ascontiguousarray(post[:, y]) for y in range(k)], axis=1)
    assert got.tobytes() == want.tobytes()
