"""Token-level span voting (the ``spans`` aggregator), turned back into spans.

Each unit is cut into tokens (see :mod:`workbench.table.spans`). On every token, each of the
unit's annotators votes ``O`` (no span there) or the label of their span covering it.

- A token takes a label when that label has more votes than ``O`` and at least as many as any
  other label; a tie between labels is drawn by the unit's id (the same draw on every token of the
  unit, so a tied span keeps one label; reproducible, no label favoured), a tie with ``O`` is ``O``.
- Neighbouring tokens with the same label form one span, unless most of the annotators who gave
  that label to a token started a span there (two adjacent entities stay two). Without the unit's
  text, a gap between tokens also ends a span; with it, only whitespace lies between tokens.
- Confidence: the mean, over the unit's tokens, of the share of annotators behind the token's
  winning tag (1.0 for a unit where nobody marked anything).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelSchema
from ..table.spans import explode_spans, spans_by_unit, token_votes
from . import AggregateResult, break_ties, check_options, empty_result


def span_vote(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    check_options("spans", options, ())
    if table.empty:
        return empty_result("spans")
    st = explode_spans(table, schema)
    tv = token_votes(st, len(schema.labels), units)
    votes = tv.votes
    n_tok = len(votes)
    label_votes = votes[:, 1:]
    best = label_votes.argmax(axis=1) if n_tok else np.zeros(0, dtype=np.int64)
    top = label_votes[np.arange(n_tok), best] if n_tok else np.zeros(0)
    names = st.unit_names.to_numpy(dtype=object)
    if n_tok and label_votes.shape[1] > 1:
        candidates = (label_votes == top[:, None]) & (top > votes[:, 0])[:, None]
        drawn = np.flatnonzero(candidates.sum(axis=1) > 1)  # labels tied for first, above 'no span'
        if len(drawn):
            best[drawn] = break_ties(candidates[drawn], names[tv.unit[drawn]])
    winner = np.where(top > votes[:, 0], best + 1, 0)
    win_votes = votes[np.arange(n_tok), winner]
    n_ann = st.annotations_per_unit()
    # ties: another tag with as many votes as the winner, on some token of the unit
    sorted_votes = np.sort(votes, axis=1)
    tied_token = (sorted_votes[:, -1] == sorted_votes[:, -2]) & (sorted_votes[:, -1] > 0) if votes.shape[1] > 1 \
        else np.zeros(n_tok, dtype=bool)
    labelled = np.flatnonzero(winner > 0)
    u, w = tv.unit[labelled], winner[labelled]
    s, e = tv.start[labelled], tv.end[labelled]
    new = np.ones(len(labelled), dtype=bool)
    if len(labelled) > 1:
        same_run = (u[1:] == u[:-1]) & (w[1:] == w[:-1]) & (labelled[1:] == labelled[:-1] + 1)
        gap_breaks = ~tv.has_text[u[1:]] & (s[1:] != e[:-1])
        begins = tv.begins[labelled[1:], w[1:]]
        voters = votes[labelled[1:], w[1:]]
        new[1:] = ~same_run | gap_breaks | (2 * begins > voters)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(labelled))[:len(first)] - 1
    spans = spans_by_unit(st.n_units, u[first], s[first], e[last], w[first] - 1, schema.labels)
    share_sum = np.bincount(tv.unit, weights=win_votes / np.maximum(n_ann[tv.unit], 1), minlength=st.n_units)
    tokens = np.bincount(tv.unit, minlength=st.n_units)
    confidence = np.where(tokens > 0, share_sum / np.maximum(tokens, 1), 1.0)
    tied_units = np.unique(tv.unit[tied_token])
    out = pd.DataFrame({"unit": names, "label": spans, "confidence": confidence, "n_annotations": n_ann})
    notes = ["spans: token-level vote (a token takes a label with more votes than 'no span'), "
             "runs of tokens turned back into spans"]
    if len(tied_units):
        notes.append(f"{len(tied_units)} unit(s) have a tied token; a tie between labels is drawn by the unit's "
                     "id, a tie with 'no span' goes to no span")
    return AggregateResult("spans", out, notes=notes, ties=names[tied_units].tolist())
