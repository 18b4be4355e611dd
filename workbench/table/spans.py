"""Span labels as arrays: exploded spans, token segments and token votes.

A span table (unit, annotator, tuple of :class:`~workbench.models.Span`) is exploded once into
int arrays (one entry per span). Token-level methods then cut each unit into *tokens*: the
non-whitespace runs of its text (when the unit's text is known), further cut at every span
boundary any annotator used, so a token is always wholly inside or outside each span. Without
the text, the tokens are the pieces between span boundaries that some annotator covered.

Each token gets a vote per tag: ``O`` (outside any span) or one of the schema's labels.
:func:`token_votes` returns those counts; the ``spans`` aggregator and the token-level alpha
are built on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema, Span, with_long_columns
from .encode import factorize_units, reject_missing_ids

_TOKEN = re.compile(r"\S+")


@dataclass
class SpanTable:
    """Every span of a span table, one array entry per span, plus per-row and per-unit facts."""

    unit: np.ndarray  # per span: unit code
    annotator: np.ndarray  # per span: annotator code
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray  # per span: index into schema.labels
    row_unit: np.ndarray  # per table row: unit code
    row_annotator: np.ndarray  # per table row: annotator code
    row_spans: np.ndarray  # per table row: how many spans
    unit_names: pd.Series
    annotator_names: pd.Series

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_names)

    def annotations_per_unit(self) -> np.ndarray:
        return np.bincount(self.row_unit, minlength=self.n_units)


def explode_spans(table: pd.DataFrame, schema: LabelSchema, what: str = "label table") -> SpanTable:
    """Check a span table and turn it into arrays; one clear error for the first bad row."""
    table = with_long_columns(table)
    labels = table["label"]
    n_rows = len(table)
    # the labels are Python tuples of Span objects: reading them once is the only per-row work
    lengths = np.fromiter((len(x) if isinstance(x, (tuple, list)) else -1 for x in labels),
                          dtype=np.int64, count=n_rows)
    bad = np.flatnonzero(lengths < 0)
    if len(bad):
        i = int(bad[0])
        value = labels.iloc[i]
        why = "label is missing (NaN)" if _is_missing(value) else f"label {value!r} is not a list of spans"
        raise WorkbenchError(f"{what}: row {i + 1} (unit {table['unit'].iloc[i]!r}): {why}")
    flat = list(chain.from_iterable(labels))
    if not all(isinstance(s, Span) for s in flat):
        row = int(np.searchsorted(np.cumsum(lengths), next(j for j, s in enumerate(flat) if not isinstance(s, Span)),
                                  side="right"))
        raise WorkbenchError(f"{what}: row {row + 1}: expected Span values (normalize labels with the schema first)")
    position = {label: i for i, label in enumerate(schema.labels)}
    start = np.fromiter((s.start for s in flat), dtype=np.int64, count=len(flat))
    end = np.fromiter((s.end for s in flat), dtype=np.int64, count=len(flat))
    label = np.fromiter((position.get(s.label, -1) for s in flat), dtype=np.int64, count=len(flat))
    row = np.repeat(np.arange(n_rows), lengths)
    wrong = np.flatnonzero((label < 0) | (start < 0) | (end <= start))
    if len(wrong):
        j = int(wrong[0])
        s = flat[j]
        why = (f"span label {s.label!r} is not one of {list(schema.labels)}" if label[j] < 0
               else f"span offsets {s.start}..{s.end} are not a non-empty range")
        raise WorkbenchError(f"{what}: row {int(row[j]) + 1} (unit {table['unit'].iloc[int(row[j])]!r}): {why}")
    reject_missing_ids(table, ("unit", "annotator"), what)
    u, unit_names = factorize_units(table["unit"])
    a, annotator_names = pd.factorize(table["annotator"], sort=False)
    a = a.astype(np.int64, copy=False)
    return SpanTable(u[row], a[row], start, end, label, u, a, lengths, unit_names, pd.Series(annotator_names))


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def group_starts(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of rows by ``keys`` (first key most significant) and where each equal run begins."""
    order = np.lexsort(keys[::-1])
    if len(order) == 0:
        return order, np.zeros(0, dtype=np.int64)
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for k in keys:
        sk = k[order]
        new[1:] |= sk[1:] != sk[:-1]
    return order, np.flatnonzero(new)


def spans_by_unit(n_units: int, unit: np.ndarray, start: np.ndarray, end: np.ndarray, label: np.ndarray,
                  names: tuple[str, ...]) -> np.ndarray:
    """An object array with one sorted tuple of Span per unit (empty tuples where none)."""
    out = np.empty(n_units, dtype=object)
    out[:] = [()] * n_units
    if len(unit) == 0:
        return out
    order, starts = group_starts(unit, start, end, label)
    u, s, e, lab = unit[order], start[order], end[order], label[order]
    bounds = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    spans = [Span(int(a), int(b), names[c]) for a, b, c in zip(s, e, lab)]
    for lo, hi in zip(bounds, np.r_[bounds[1:], len(u)]):
        out[u[lo]] = tuple(spans[lo:hi])
    return out


@dataclass
class TokenVotes:
    """Per token: its unit, offsets and the votes for ``O`` (column 0) and each label (1..L)."""

    unit: np.ndarray
    start: np.ndarray
    end: np.ndarray
    votes: np.ndarray  # tokens x (1 + L): column 0 is "outside every span"
    begins: np.ndarray  # tokens x (1 + L): voters whose span starts at this token
    has_text: np.ndarray  # per unit: tokens come from the unit's text
    spans: SpanTable
    covered: tuple[np.ndarray, np.ndarray, np.ndarray]  # (token, annotator, label) of every span vote

    def tags(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token, annotator, tag) for every token and every annotator of its unit; tag 0 is O,
        1..L the labels. The token-level table that Dawid-Skene and agreement can read."""
        st = self.spans
        # every (token, table row) pair of the same unit: tokens and rows grouped by unit
        tok_order = np.argsort(self.unit, kind="stable")
        row_order = np.argsort(st.row_unit, kind="stable")
        rows_per_unit = np.bincount(st.row_unit, minlength=st.n_units)
        row_start = np.concatenate(([0], np.cumsum(rows_per_unit)))[:-1]
        t_units = self.unit[tok_order]
        reps = rows_per_unit[t_units]
        token = np.repeat(tok_order, reps)
        offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        annotator = st.row_annotator[row_order[np.repeat(row_start[t_units], reps) + offset]]
        tag = np.zeros(len(token), dtype=np.int64)
        ct, ca, cl = self.covered
        if len(ct):
            key = token * st.n_annotators + annotator
            order = np.argsort(key)
            pos = order[np.searchsorted(key, ct * st.n_annotators + ca, sorter=order)]
            tag[pos] = cl + 1
        return token, annotator, tag


def token_votes(st: SpanTable, n_labels: int, units: Mapping | None = None) -> TokenVotes:
    """Cut every unit into tokens and count each annotator's tag on each token."""
    texts = _unit_texts(st, units)
    has_text = np.array([t is not None for t in texts], dtype=bool)
    tok_u, tok_s, tok_e = _text_tokens(texts)
    width = int(max(st.end.max(initial=0), tok_e.max(initial=0))) + 1
    bkeys = np.unique(np.concatenate([st.unit * width + st.start, st.unit * width + st.end,
                                      tok_u * width + tok_s, tok_u * width + tok_e]))
    # interval i runs from boundary i to boundary i + 1 (within one unit)
    lo, hi = bkeys[:-1], bkeys[1:]
    same_unit = (lo // width) == (hi // width)
    # which intervals each span covers: a contiguous range of interval ids
    first = np.searchsorted(bkeys, st.unit * width + st.start)
    last = np.searchsorted(bkeys, st.unit * width + st.end)
    counts = last - first
    span_id = np.repeat(np.arange(len(first)), counts)
    interval = first[span_id] + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    ann, lab = st.annotator[span_id], st.label[span_id]
    begin = interval == first[span_id]
    # an annotator whose own spans overlap votes once per interval (the first label in schema order)
    order = np.lexsort((lab, ann, interval))
    keep = order[_first_of_pairs(interval[order], ann[order])]
    interval, lab, begin = interval[keep], lab[keep], begin[keep]
    n_int = len(lo)
    covered = np.zeros(n_int, dtype=bool)
    covered[interval] = True
    inside = _inside_tokens(lo, tok_u * width + tok_s, tok_u * width + tok_e)
    unit_of = lo // width
    valid = same_unit & np.where(has_text[unit_of], inside, covered)
    token_id = np.cumsum(valid) - 1
    n_tok = int(valid.sum())
    ok = valid[interval]
    cols = n_labels + 1
    flat = token_id[interval[ok]] * cols + lab[ok] + 1
    votes = np.bincount(flat, minlength=n_tok * cols).reshape(n_tok, cols)
    begins = np.bincount(flat, weights=begin[ok], minlength=n_tok * cols).reshape(n_tok, cols)
    t_unit = unit_of[valid]
    votes[:, 0] = st.annotations_per_unit()[t_unit] - votes[:, 1:].sum(axis=1)
    covered_triples = (token_id[interval[ok]], ann[keep][ok], lab[ok])
    return TokenVotes(t_unit, lo[valid] % width, hi[valid] % width, votes, begins, has_text, st, covered_triples)


def _first_of_pairs(interval: np.ndarray, ann: np.ndarray) -> np.ndarray:
    new = np.ones(len(interval), dtype=bool)
    new[1:] = (interval[1:] != interval[:-1]) | (ann[1:] != ann[:-1])
    return np.flatnonzero(new)


def _inside_tokens(keys: np.ndarray, tok_start: np.ndarray, tok_end: np.ndarray) -> np.ndarray:
    if len(tok_start) == 0:
        return np.zeros(len(keys), dtype=bool)
    order = np.argsort(tok_start)
    ts, te = tok_start[order], tok_end[order]
    idx = np.searchsorted(ts, keys, side="right") - 1
    return (idx >= 0) & (keys < te[np.maximum(idx, 0)])


def _unit_texts(st: SpanTable, units: Mapping | None) -> list[str | None]:
    if not units:
        return [None] * st.n_units
    texts = []
    for name in st.unit_names:
        unit = units.get(name)
        texts.append(getattr(unit, "text", None) if unit is not None else None)
    return texts


def _text_tokens(texts: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-whitespace runs of each known text (one regex pass per unit, not per row)."""
    us, ss, es = [], [], []
    for i, text in enumerate(texts):
        if not text:
            continue
        bounds = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        us.extend([i] * len(bounds))
        ss.extend(b[0] for b in bounds)
        es.extend(b[1] for b in bounds)
    return (np.asarray(us, dtype=np.int64), np.asarray(ss, dtype=np.int64), np.asarray(es, dtype=np.int64))
