"""Span Dawid-Skene (``span_dawid_skene``): token-level BIO Dawid-Skene, decoded back into spans.

Each unit is cut into tokens as for the ``spans`` vote (:mod:`workbench.table.spans`: the
non-whitespace runs of the unit's text, further cut at every span boundary anyone used, gold
included). On every token each annotator of the unit gives one of ``2L + 1`` *tags*: ``O`` (no
span), ``B-X`` (their span of label X starts here) or ``I-X`` (it goes on here).

- **Model** (Dawid and Skene 1979 over tags): every token has a true tag drawn from class priors;
  each annotator gives a tag drawn from their own confusion row ``P(given | true)``. The matrix
  learns *boundary* errors (true ``I-X`` given as ``O``: cut short; true ``O`` given as ``I-X``:
  cut long; ``B-X`` given as ``I-X``: two entities run together), *type* errors (``B-ORG`` given
  as ``B-PERSON``), *misses* (``B-X``/``I-X`` given as ``O``) and spammers (a flat row) — the
  token-level model of Nguyen et al. (2017, "Aggregating and predicting sequence labels from
  crowd annotations", the "MV/DS on tokens" baseline they extend with an HMM).
- **Fit**: EM from vote shares, two sparse products per iteration (as :mod:`.dawid_skene`), once
  per distinct token pattern; every confusion row gets a Dirichlet prior of ``right_prior``
  pseudo-counts of the right tag (few sentences per annotator cannot fill a (2L+1)^2 matrix). Tokens
  of gold units (honeypots) are clamped to the gold tags at every step, so gold anchors the
  confusion matrices and gold units come out as their gold spans.
- **Decoding**: the most probable *valid* tag sequence under the token posteriors (Viterbi over
  the sum of log posteriors where ``I-X`` may only follow ``B-X`` or ``I-X``): no orphan ``I``,
  no span crossing a unit's start or, without the unit's text, a gap between tokens. Output spans
  never overlap, lie inside the unit's tokens and start and end on token boundaries.
- **Confidence**: per span (``span_scores``, a tuple aligned with the unit's sorted spans), the
  smallest of the posteriors of its tags and of the probability that the token after it does not
  continue it: every one of those must hold for the span to be exactly right. Per unit
  (``confidence``), the smallest over its tokens of the posterior of the decoded tag (1.0 for a
  unit without tokens): the unit's span set is only right if every token's tag is, so a unit with one
  doubtful boundary in a long sentence is not called sure (a mean over tokens, most of them a
  certain ``O``, called nearly every unit sure, and adaptive redundancy and review skipped them).
- **Ties**: a token whose best tags are equally probable gets the one drawn by a hash of the
  unit's id (:func:`~workbench.aggregate.break_ties`), never the first in schema order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema, Span, with_long_columns
from ..table.spans import explode_spans, token_votes
from . import AggregateResult, break_ties, check_options, empty_result

METHOD = "span_dawid_skene"
OPTIONS = ("max_iter", "tol", "right_prior")
EPS = 1e-10
#: prior counts added to every confusion row (spread over the row in proportion to the class
#: priors) so a tag an annotator met once does not get a probability of 0 or 1
SMOOTHING = 0.01
#: default ``right_prior``: pseudo-counts of a right tag added to each true tag's row of each
#: annotator's confusion matrix (a Dirichlet prior). An annotator seen on a few sentences cannot fill
#: a (2L + 1)^2 matrix; without it, EM overfits and loses to the vote on small campaigns
RIGHT_PRIOR = 2.0
_GOLD = "\x00gold"  # the pseudo-annotator carrying gold spans into the tokenization
_TIE_RTOL = 1e-9


def parse_options(options: dict) -> tuple[int, float, float]:
    check_options(METHOD, options, OPTIONS)
    max_iter, tol = options.get("max_iter", 100), options.get("tol", 1e-6)
    right_prior = options.get("right_prior", RIGHT_PRIOR)
    if isinstance(right_prior, bool) or not isinstance(right_prior, (int, float)) or not right_prior >= 0:
        raise WorkbenchError(f"{METHOD}: right_prior: expected a number >= 0, got {right_prior!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise WorkbenchError(f"{METHOD}: max_iter: expected a whole number >= 1, got {max_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise WorkbenchError(f"{METHOD}: tol: expected a number >= 0, got {tol!r}")
    return max_iter, float(tol), float(right_prior)


def tag_names(labels: tuple[str, ...]) -> list[str]:
    """``O``, then ``B-X``, ``I-X`` for every label X in schema order (tag 1 + 2l is B, 2 + 2l is I)."""
    out = ["O"]
    for label in labels:
        out += [f"B-{label}", f"I-{label}"]
    return out


def _gold_spans(gold, names: pd.Series, schema: LabelSchema) -> dict:
    """Gold of the table's units, normalized to tuples of Span."""
    if not gold:
        return {}
    present = set(names)
    out = {}
    for unit, value in gold.items():
        if unit not in present:
            continue
        if not (isinstance(value, tuple) and all(isinstance(s, Span) for s in value)):
            try:
                value = schema.normalize(value)
            except ValueError as exc:
                raise WorkbenchError(f"{METHOD}: gold of unit {unit!r}: {exc}") from None
        out[unit] = value
    return out


def span_dawid_skene(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None,
                     **options) -> AggregateResult:
    """Token-level BIO Dawid-Skene over span labels. Options: ``max_iter`` (100), ``tol`` (1e-6),
    ``right_prior`` (2: pseudo-counts of a right tag per true tag and annotator; 0: plain Dawid-Skene)."""
    max_iter, tol, right_prior = parse_options(options)
    if table.empty:
        return empty_result(METHOD)
    table = with_long_columns(table)
    real = explode_spans(table, schema)  # checks the table; names and per-unit counts of real rows
    gold_of = _gold_spans(gold, real.unit_names, schema)
    if gold_of:
        extra = pd.DataFrame({"unit": list(gold_of), "annotator": _GOLD, "label": list(gold_of.values())})
        both = pd.concat([table[["unit", "annotator", "label"]], extra], ignore_index=True)
        st = explode_spans(both, schema, "gold")
    else:
        st = real
    n_labels = len(schema.labels)
    k = 2 * n_labels + 1
    tv = token_votes(st, n_labels, units)
    n_tok = len(tv.unit)
    names = st.unit_names.to_numpy(dtype=object)
    n_units = st.n_units
    token, annotator, tag = tv.tags()
    seq_start = _sequence_starts(tv)
    bio = _bio_tags(tv, st, token, annotator, tag, seq_start, n_labels)

    gold_code = int(np.flatnonzero(st.annotator_names.to_numpy(dtype=object) == _GOLD)[0]) if gold_of else -1
    is_gold_obs = annotator == gold_code
    g_tok, g_tag = token[is_gold_obs], bio[is_gold_obs]
    keep = ~is_gold_obs
    token, annotator, bio = token[keep], annotator[keep], bio[keep]
    real_rows = st.row_annotator != gold_code
    n_ann_rows = np.bincount(st.row_unit[real_rows], minlength=n_units)
    ann_codes = np.unique(st.row_annotator[real_rows])  # every annotator, with tokens or not
    ann_index = np.searchsorted(ann_codes, annotator)
    n_ann = len(ann_codes)

    post, fit_notes, confusion, priors = _fit(token, ann_index, bio, n_tok, n_ann, k,
                                              g_tok, g_tag, max_iter, tol, right_prior)
    tied_tok = _ties(post)
    choice = post.copy()
    if len(tied_tok):
        top = post[tied_tok].max(axis=1)
        cand = post[tied_tok] >= top[:, None] * (1 - _TIE_RTOL)
        pick = break_ties(cand, names[tv.unit[tied_tok]])
        choice[tied_tok, pick] += top * 1e-6  # the drawn tag wins the tie, and nothing else changes
    path = _viterbi(np.log(np.maximum(choice, EPS)), seq_start, n_labels)
    spans, scores = _spans(tv, path, post, n_units, n_labels, schema.labels)
    tok_post = post[np.arange(n_tok), path]
    confidence = np.ones(n_units)  # a unit is as sure as its least sure token (1.0 without tokens)
    np.minimum.at(confidence, tv.unit, tok_post)
    if gold_of:  # gold units: their gold spans, exactly (a gold span between tokens is kept as is)
        pos = {u: i for i, u in enumerate(names)}
        for u, value in gold_of.items():
            i = pos[u]
            spans[i] = tuple(sorted(value))
            scores[i] = tuple(1.0 for _ in value)
            confidence[i] = 1.0
    tied_units = np.unique(tv.unit[tied_tok])
    out = pd.DataFrame({"unit": names, "label": spans, "confidence": confidence, "n_annotations": n_ann_rows,
                        "span_scores": scores})
    notes = [f"{METHOD}: token-level BIO Dawid-Skene over {n_tok} tokens and {k} tags, decoded into valid "
             "spans; per-span confidence in `span_scores`"] + fit_notes
    if gold_of:
        notes.append(f"{METHOD}: {len(gold_of)} gold unit(s) clamped to their gold spans")
    if len(tied_units):
        notes.append(f"{len(tied_units)} unit(s) have a token whose best tags are equally probable; each drawn by "
                     "the unit's id (reproducible, no label favoured)")
    ann_names = st.annotator_names.to_numpy(dtype=object)[ann_codes]
    annotators = _annotator_frame(ann_names, np.bincount(st.row_annotator, minlength=st.n_annotators)[ann_codes],
                                  confusion, priors, tag_names(schema.labels))
    return AggregateResult(METHOD, out, None, annotators, notes, names[tied_units].tolist())


def _sequence_starts(tv) -> np.ndarray:
    """Tokens where no span may run on from the previous token: a unit's first token and, where the
    unit's text is unknown, a token after a gap (nobody covered what lies between)."""
    n = len(tv.unit)
    start = np.ones(n, dtype=bool)
    if n > 1:
        same = tv.unit[1:] == tv.unit[:-1]
        gap = ~tv.has_text[tv.unit[1:]] & (tv.start[1:] != tv.end[:-1])
        start[1:] = ~same | gap
    return start


def _bio_tags(tv, st, token, annotator, tag, seq_start, n_labels: int) -> np.ndarray:
    """Each (token, annotator) tag as O / B-X / I-X: B where the annotator's span of X begins on the
    token (the first token at or after its start), where the run of X restarts, or after a gap."""
    n_tok = len(tv.unit)
    n_a, cols = max(st.n_annotators, 1), n_labels + 1
    labelled = tag > 0
    # which token each span begins on
    width = int(max(st.end.max(initial=0), tv.end.max(initial=0))) + 1
    tok_key = tv.unit * width + tv.start
    first = np.searchsorted(tok_key, st.unit * width + st.start)
    ok = first < n_tok
    ok[ok] &= (tv.unit[first[ok]] == st.unit[ok]) & (tv.start[first[ok]] < st.end[ok])
    begin_key = np.unique((first[ok] * n_a + st.annotator[ok]) * cols + st.label[ok] + 1)
    key = (token * n_a + annotator) * cols + tag
    begins = np.isin(key, begin_key)
    prev_key = ((token - 1) * n_a + annotator) * cols + tag
    prev_same = np.isin(prev_key, key[labelled]) & ~seq_start[token]
    is_b = begins | ~prev_same | seq_start[token]
    return np.where(labelled, np.where(is_b, 2 * tag - 1, 2 * tag), 0).astype(np.int64)


def _fit(token, annotator, tag, n_tok, n_ann, k, g_tok, g_tag, max_iter, tol, right_prior):
    """EM for Dawid-Skene on (token, annotator, tag) triples; gold tokens clamped.

    Tokens with the same annotations (the same (annotator, tag) pairs, and the same gold tag or
    none) have the same posterior: EM runs once per distinct pattern, weighted by its count. In a
    campaign most tokens are ``O`` for every annotator of their unit, so this is several times
    fewer rows.
    """
    col = annotator * k + tag
    pattern, inverse, weight = _patterns(token, col, n_tok, g_tok, g_tag)
    rep = pattern["first"]
    from scipy import sparse  # here: registering the aggregators (every command that aggregates) needs no scipy

    design = sparse.csr_matrix((np.ones(len(token)), (token, col)), shape=(n_tok, n_ann * k))[rep]
    n_pat = len(rep)
    counts = np.bincount(token * k + tag, minlength=n_tok * k).reshape(n_tok, k)[rep].astype(float)
    empty = counts.sum(axis=1) == 0
    counts[empty, 0] = 1.0  # a token nobody tagged (only gold saw it) starts as O
    post = counts / counts.sum(axis=1, keepdims=True)
    g_pat = np.flatnonzero(pattern["gold"] >= 0)
    clamp = np.zeros((len(g_pat), k))
    clamp[np.arange(len(g_pat)), pattern["gold"][g_pat]] = 1.0
    post[g_pat] = clamp
    n_obs = max(len(token), 1)
    history: list[float] = []
    converged = False
    confusion = np.full((n_ann, k, k), 1.0 / k)
    priors = np.full(k, 1.0 / k)
    w = weight[:, None]
    it = 0
    for it in range(1, max_iter + 1):
        priors = np.maximum((weight @ post) / max(n_tok, 1), EPS) if n_tok else np.full(k, 1.0 / k)
        priors /= priors.sum()
        expected = np.asarray(design.T @ (post * w)).reshape(n_ann, k, k)  # [annotator, given, true]
        confusion = expected.transpose(0, 2, 1)  # [annotator, true, given]
        if right_prior > 0:  # Dirichlet prior: every annotator starts out right on every true tag
            confusion = confusion + right_prior * np.eye(k)[None, :, :]
        confusion = confusion + SMOOTHING * priors[None, None, :]
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_conf = np.log(np.maximum(confusion, EPS)).transpose(0, 2, 1).reshape(n_ann * k, k)
        logp = np.asarray(design @ log_conf) + np.log(priors)[None, :]
        top = logp.max(axis=1, keepdims=True) if n_pat else np.zeros((0, 1))
        post = np.exp(logp - top)
        total = post.sum(axis=1, keepdims=True)
        ll = float(weight @ (np.log(total) + top)[:, 0]) / n_obs
        post /= total
        post[g_pat] = clamp
        history.append(ll)
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:  # (with the prior, EM is MAP-EM)
            converged = True
            break
    notes = [f"{METHOD}: EM converged after {it} iteration(s)" if converged
             else f"{METHOD}: EM stopped at max_iter={max_iter} before converging (tol={tol})"]
    return post[inverse], notes, confusion, priors


def _patterns(token, col, n_tok, g_tok, g_tag):
    """Distinct token patterns: per token its sorted design columns and its gold tag (-1: none).
    Returns (per pattern: a representative token ``first`` and ``gold``), token -> pattern, counts."""
    order = np.lexsort((col, token))
    token, col = token[order], col[order]
    per = np.bincount(token, minlength=n_tok)
    width = int(per.max(initial=0)) + 1
    mat = np.full((n_tok, width), -1, dtype=np.int64)
    mat[g_tok, 0] = g_tag
    pos = np.arange(len(token)) - np.repeat(np.cumsum(per) - per, per)
    mat[token, pos + 1] = col
    if n_tok == 0:
        return {"first": np.zeros(0, dtype=np.int64), "gold": np.zeros(0, dtype=np.int64)}, \
            np.zeros(0, dtype=np.int64), np.zeros(0)
    order = np.lexsort(mat.T[::-1])  # rows in order; equal rows next to each other
    srt = mat[order]
    new = np.ones(n_tok, dtype=bool)
    new[1:] = (srt[1:] != srt[:-1]).any(axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(n_tok, dtype=np.int64)
    inverse[order] = group
    first = order[new]
    counts = np.bincount(group).astype(float)
    return {"first": first, "gold": mat[first, 0]}, inverse, counts


def _ties(post: np.ndarray) -> np.ndarray:
    if post.shape[1] < 2 or not len(post):
        return np.zeros(0, dtype=np.int64)
    top = post.max(axis=1)
    near = (post >= (top * (1 - _TIE_RTOL))[:, None]).sum(axis=1)
    return np.flatnonzero(near > 1)


def _viterbi(logp: np.ndarray, seq_start: np.ndarray, n_labels: int) -> np.ndarray:
    """The best valid BIO path (``I-X`` only after ``B-X`` or ``I-X``), all sequences at once.

    Sequences are runs of consecutive tokens between ``seq_start``; step ``p`` handles the p-th
    token of every sequence in one vector operation.
    """
    n, k = logp.shape
    path = np.zeros(n, dtype=np.int64)
    if n == 0:
        return path
    is_i = np.zeros(k, dtype=bool)
    is_i[2::2] = True
    allowed = np.ones((k, k), dtype=bool)  # allowed[prev, cur]
    for lab in range(n_labels):
        i_tag = 2 + 2 * lab
        allowed[:, i_tag] = False
        allowed[1 + 2 * lab, i_tag] = allowed[i_tag, i_tag] = True
    penalty = np.where(allowed, 0.0, -np.inf)
    starts = np.flatnonzero(seq_start)
    seq = np.cumsum(seq_start) - 1
    pos = np.arange(n) - starts[seq]
    delta = np.empty((n, k))
    back = np.zeros((n, k), dtype=np.int64)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(pos.max() + 2))
    first = order[bounds[0]:bounds[1]]
    delta[first] = np.where(is_i[None, :], -np.inf, logp[first])
    for p in range(1, len(bounds) - 1):
        tok = order[bounds[p]:bounds[p + 1]]
        scores = delta[tok - 1][:, :, None] + penalty[None, :, :]  # [token, prev, cur]
        back[tok] = scores.argmax(axis=1)
        delta[tok] = scores.max(axis=1) + logp[tok]
    ends = np.r_[starts[1:], n] - 1
    path[ends] = delta[ends].argmax(axis=1)
    for p in range(len(bounds) - 2, 0, -1):
        tok = order[bounds[p]:bounds[p + 1]]
        path[tok - 1] = back[tok, path[tok]]
    return path


def _spans(tv, path, post, n_units, n_labels, labels):
    """Spans from a valid BIO path (B starts a span, I continues it) and a score per span."""
    n = len(path)
    spans = np.empty(n_units, dtype=object)
    spans[:] = [()] * n_units
    scores = np.empty(n_units, dtype=object)
    scores[:] = [()] * n_units
    b = np.flatnonzero((path > 0) & (path % 2 == 1))
    if not len(b):
        return spans, scores
    lab = (path[b] - 1) // 2
    # a span runs from its B over the I tokens that follow; the path is valid, so the span ends at
    # the last token before the next token that is not I of the same label
    cont = np.zeros(n + 1, dtype=bool)  # cont[t]: token t is I (of the label of the token before it)
    cont[:n] = (path > 0) & (path % 2 == 0)
    stop = np.flatnonzero(~cont[1:])  # token t is the last of its span when t + 1 does not continue it
    last = stop[np.searchsorted(stop, b)]
    tok_p = post[np.arange(n), path]
    # min posterior of the span's tokens, by a running minimum over each [b, last] range
    span_of = np.full(n, -1)
    length = last - b + 1
    idx = np.repeat(b, length) + (np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length))
    span_of[idx] = np.repeat(np.arange(len(b)), length)
    mins = np.full(len(b), np.inf)
    np.minimum.at(mins, span_of[idx], tok_p[idx])
    # the token after the span must not continue it
    nxt = last + 1
    has_next = nxt < n
    has_next[has_next] &= tv.unit[nxt[has_next]] == tv.unit[b[has_next]]
    cont_p = np.zeros(len(b))
    cont_p[has_next] = post[nxt[has_next], 2 + 2 * lab[has_next]]
    score = np.clip(np.minimum(mins, 1.0 - cont_p), 0.0, 1.0)
    unit = tv.unit[b]
    start, end = tv.start[b], tv.end[last]
    bounds = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])  # tokens are ordered by unit, then offset
    made = [Span(int(s), int(e), labels[c]) for s, e, c in zip(start, end, lab)]
    for lo, hi in zip(bounds, np.r_[bounds[1:], len(b)]):
        spans[unit[lo]] = tuple(made[lo:hi])
        scores[unit[lo]] = tuple(float(x) for x in score[lo:hi])
    return spans, scores


def _annotator_frame(names, n_rows, confusion, priors, tags) -> pd.DataFrame:
    """Per annotator: labels given, expected token-tag accuracy, and summaries of the confusion."""
    k = len(tags)
    diag = np.einsum("akk->ak", confusion) if len(confusion) else np.zeros((0, k))
    accuracy = diag @ priors
    entity = np.zeros(k, dtype=bool)
    entity[1:] = True
    w = np.where(entity, priors, 0.0)
    w = w / w.sum() if w.sum() > 0 else w
    missed = confusion[:, :, 0] @ w  # a true entity tag given as O
    spurious = 1.0 - confusion[:, 0, 0] if len(confusion) else np.zeros(0)  # a true O given as an entity tag
    return pd.DataFrame({
        "annotator": names,
        "n_annotations": n_rows,
        "accuracy": accuracy,  # expected share of tokens tagged right, under the fitted model
        "missed": missed,
        "spurious": spurious,
        "confusion": list(confusion),  # K x K over tags (O, B-X, I-X, ...): rows true, columns given
    })
