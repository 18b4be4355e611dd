"""Ordinal median: the vote that respects the order of an ordinal scale.

A majority vote ignores the order: on a 1-to-5 scale, votes 1, 1, 4, 5, 5 give a tie between 1 and
5, and 1, 2, 3, 4, 4 give 4 although most annotators said less. The median grade is the grade
closest to all the votes: it minimizes the sum of the distances (in steps of the scale) to the
unit's votes, the L1 estimate of a location on an ordinal scale, which needs nothing but the order
(no numeric spacing between grades is assumed, unlike a mean).

With an odd number of votes the median is one grade. With an even number split exactly in half,
every grade from the lower to the upper median is as close to the votes (1, 1, 5, 5: 1 to 5 all
at total distance 8): those grades are tied and one is drawn by a hash of the unit id, as every
tie (:func:`workbench.aggregate.break_ties`), and the unit is listed in ``ties``.

Confidence is the share of the unit's votes equal to the chosen grade; the posteriors frame holds
each grade's share of the votes (as majority's). Vectorized: a cumulative sum of the units x
grades vote counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema
from ..table.encode import encode
from . import AggregateResult, TiedUnits, break_ties, check_options, column_names, empty_result


def median_candidates(counts: np.ndarray) -> np.ndarray:
    """Units x grades: the grades that minimize the summed distance to the votes (``counts`` units x grades)."""
    n = counts.sum(axis=1, keepdims=True)
    upto = np.cumsum(counts, axis=1)  # votes at or below each grade
    below = upto - counts  # votes strictly below
    # g is a median when at most half the votes are below it and at most half above it
    return (2 * below <= n) & (2 * (n - upto) <= n)


def ordinal_median(table: pd.DataFrame, schema: LabelSchema, *, gold=None, units=None, **options) -> AggregateResult:
    """The median grade of each unit's votes (ordinal scales); an even split is a tie drawn by the unit id."""
    check_options("ordinal_median", options, ())
    if schema.kind is not LabelKind.ORDINAL:
        raise WorkbenchError(f"ordinal_median works on ordinal labels (a scale in order), not {schema.kind.value}")
    if table.empty:
        return empty_result("ordinal_median")
    enc = encode(table, schema, annotators=False)
    counts = enc.counts()
    candidates = median_candidates(counts)
    best = np.argmax(candidates, axis=1)  # the lower median
    tied_rows = np.flatnonzero(candidates.sum(axis=1) > 1)
    if len(tied_rows):
        best[tied_rows] = break_ties(candidates[tied_rows], enc.unit_names.array[tied_rows])
    shares = enc.shares()
    rows = np.arange(enc.n_units)
    label = pd.Categorical.from_codes(best, categories=pd.Index(enc.classes, dtype=object), validate=False)
    labels = pd.DataFrame({"unit": enc.unit_names.array, "label": label, "confidence": shares[rows, best],
                           "n_annotations": enc.per_unit().copy()}, copy=False)
    posteriors = pd.DataFrame(shares, index=pd.Index(enc.unit_names.array, name="unit"),
                              columns=column_names(enc.classes), copy=False)
    ties = TiedUnits(enc.unit_names.array, tied_rows)
    notes = ["ordinal_median: the grade closest to all the votes (median on the scale's order); confidence is "
             "the share of votes for it"]
    if ties:
        notes.append(f"{len(ties)} unit(s) tied (votes split evenly around the middle); each broken by a draw keyed "
                     "on its unit id among the grades between the two middle votes; `ties` lists them")
    return AggregateResult("ordinal_median", labels, posteriors, None, notes, ties)
