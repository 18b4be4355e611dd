"""KOS: Karger, Oh and Shah's iterative message passing for binary labels (2011, "Iterative
learning for reliable crowdsourcing systems").

Labels are coded +1 / -1. Every (unit, annotator) edge carries two messages: ``x``, what the unit
makes of its label from everyone else's, and ``y``, how reliable the annotator looks from all their
other units::

    x[unit -> annotator] = sum over the unit's other annotators b of  label[unit, b] * y[b -> unit]
    y[annotator -> unit] = sum over the annotator's other units t of  label[t, annotator] * x[t -> annotator]

``y`` starts as Normal(1, 1) draws (one per row, in table order, from ``seed``), and after
``max_iter`` rounds a unit's label is the sign of ``sum label * y`` over its annotators. As in
crowd-kit's ``KOS``, the updates are linear and the messages grow every round: the loop stops early
(keeping the last messages) when a sum passes 1e300, before floats overflow. Each round is two
``bincount`` passes over the rows.

KOS has no probability model; the ``posteriors`` frame holds the reliability-weighted margin mapped
to [0, 1]: ``(1 + score / sum |y|) / 2`` for the first label, its complement for the other. A score
of exactly zero is a tie, drawn by the unit id as everywhere else. A unit whose annotators labeled
no other unit gets no message at all: its plain vote shares are used instead (the note counts them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelSchema
from ..table.encode import encode
from . import AggregateResult, check_options, empty_result, posterior_result

OPTIONS = ("max_iter", "seed")
DEFAULTS = {"max_iter": 100, "seed": 0}
LIMIT = 1e300  # crowd-kit's _MAX: stop before the messages overflow


def parse_options(options: dict) -> dict:
    check_options("kos", options, OPTIONS)
    opts = {**DEFAULTS, **options}
    v = opts["max_iter"]
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise WorkbenchError(f"kos: max_iter: expected a whole number >= 1, got {v!r}")
    v = opts["seed"]
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise WorkbenchError(f"kos: seed: expected a whole number >= 0, got {v!r}")
    return opts


def check_binary(schema: LabelSchema) -> None:
    if len(schema.labels) != 2 or not schema.categorical:
        raise WorkbenchError(f"kos works on binary labels only (a schema of exactly two labels); this one is "
                             f"{schema.kind.value} with {len(schema.labels)} label(s): {', '.join(schema.labels)}")


def kos(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """KOS (binary only). Options: max_iter (100), seed (0: the start of the annotator messages)."""
    opts = parse_options(options)
    check_binary(schema)
    if table.empty:
        return empty_result("kos")
    enc = encode(table, schema)
    u, a = enc.unit, enc.annotator
    sign = np.where(enc.label == 0, 1.0, -1.0)  # the schema's first label is +1
    nu, na = enc.n_units, enc.n_annotators
    y = np.random.RandomState(opts["seed"]).normal(1.0, 1.0, enc.n_rows)  # as crowd-kit: np.random.seed
    rounds, stopped = 0, False
    for rounds in range(1, opts["max_iter"] + 1):
        m = sign * y
        per_unit = np.bincount(u, weights=m, minlength=nu)
        if (np.abs(per_unit) > LIMIT).any():
            stopped = True
            break
        x = per_unit[u] - m
        m = sign * x
        per_annotator = np.bincount(a, weights=m, minlength=na)
        if (np.abs(per_annotator) > LIMIT).any():
            stopped = True
            break
        y = per_annotator[a] - m
    score = np.bincount(u, weights=sign * y, minlength=nu)
    scale = np.bincount(u, weights=np.abs(y), minlength=nu)
    margin = np.divide(score, scale, out=np.zeros(nu), where=scale > 0)
    post = np.empty((nu, 2))
    post[:, 0] = (1 + margin) / 2
    post[:, 1] = 1 - post[:, 0]
    post[score == 0] = 0.5  # an exact tie, whatever rounding did to the margin
    notes = [f"kos: {rounds} round(s) of message passing"
             + (" (stopped early: the messages passed 1e300)" if stopped else "")
             + "; confidence is the reliability-weighted vote margin, not a probability"]
    silent = scale == 0  # no annotator of the unit labeled anything else: KOS knows nothing there
    if silent.any():
        post[silent] = enc.shares()[silent]
        notes.append(f"kos: {int(silent.sum())} unit(s) whose annotators labeled no other unit (no message to "
                     "weigh them by): plain vote shares used there")
    # an annotator's reliability: the mean of their outgoing messages, scaled by the largest
    rel = np.bincount(a, weights=y, minlength=na) / np.maximum(enc.per_annotator(), 1)
    top = np.abs(rel).max() if na else 0.0
    info = pd.DataFrame({"annotator": enc.annotator_names.to_numpy(), "n_annotations": enc.per_annotator(),
                         "reliability": rel / top if top > 0 else rel})
    return posterior_result("kos", enc, post, notes, info)
