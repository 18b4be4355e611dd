"""Aggregation: from the long ``(unit, annotator, label)`` table to one label per unit.

Methods are registered through ``register_aggregators``; each returns an :class:`AggregateResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..table.rows import row_argmax

RESULT_COLUMNS = ["unit", "label", "confidence", "n_annotations"]


@dataclass
class AggregateResult:
    """Per unit: the label, a confidence (posterior or vote share) and the number of annotations.

    ``labels`` may carry more columns a method estimates per unit (``glad``: ``difficulty``).
    ``posteriors`` (optional) has one row per unit and one column per class (``binary_relevance``:
    one column per label of the schema, the probability that it is in the unit's set); ``annotators``
    (optional) holds per-annotator estimates a method makes (skill, confusion); ``notes`` says
    what a user should know (ties, convergence, which method ``auto`` picked).
    """

    method: str
    labels: pd.DataFrame
    posteriors: pd.DataFrame | None = None
    annotators: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    ties: Sequence[str] = field(default_factory=list)

    def __post_init__(self):
        missing = set(RESULT_COLUMNS) - set(self.labels.columns)
        if missing:
            raise ValueError(f"aggregate result lacks columns {sorted(missing)}")


class TiedUnits(Sequence):
    """The names of the tied units, made Python strings only when first read.

    A million-row table can tie tens of thousands of units; most callers only count them.
    """

    def __init__(self, names, positions: np.ndarray):
        self._names, self._positions, self._list = names, positions, None

    def _items(self) -> list:
        if self._list is None:
            self._list = self._names.take(self._positions).to_numpy(dtype=object).tolist()
        return self._list

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, i):
        return self._items()[i]

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and self._items() == list(other)

    def __repr__(self) -> str:
        return repr(self._items())


def empty_result(method: str, note: str = "the label table is empty") -> AggregateResult:
    return AggregateResult(method, pd.DataFrame(columns=RESULT_COLUMNS), notes=[note])


def check_options(method: str, options: dict, known: tuple[str, ...]) -> None:
    """Unknown options are a mistake in the campaign file or the command line, not something to ignore."""
    from ..errors import WorkbenchError

    extra = sorted(set(options) - set(known))
    if extra:
        allowed = ", ".join(known) if known else "none"
        raise WorkbenchError(f"aggregate option {extra[0]!r} is not known to {method} (known: {allowed})")


def column_names(classes: list) -> list[str]:
    """Posterior column names: the label itself, or its JSON key for label sets."""
    from ..models import label_key

    return [c if isinstance(c, str) else label_key(c) for c in classes]


def posterior_result(method: str, enc, post: np.ndarray, notes: list[str] | None = None,
                     annotators: pd.DataFrame | None = None, tie_rtol: float = 1e-9) -> AggregateResult:
    """One label per unit from a units x classes posterior (rows sum to 1).

    The label is the most probable class; among equally probable ones a draw keyed on the unit's id
    decides (:func:`break_ties`), and those units are reported as ties. ``post`` becomes the data of
    the posteriors frame without a copy: pass an array nothing else changes afterwards.
    """
    notes = list(notes or [])
    best, confidence = row_argmax(post)
    # tied: some other class is as probable as the best (within rounding)
    floor = confidence * (1 - tie_rtol)
    near = np.zeros(len(post), dtype=np.int32)
    for j in range(post.shape[1]):
        near += post[:, j] >= floor
    tied = near > 1
    tied_rows = np.flatnonzero(tied)
    if len(tied_rows):
        best[tied_rows] = break_ties(post[tied_rows] >= floor[tied_rows, None],
                                     enc.unit_names.array[tied_rows])
    if all(isinstance(c, str) for c in enc.classes):  # codes into the classes: no per-row strings
        label = pd.Categorical.from_codes(best, categories=pd.Index(enc.classes, dtype=object), validate=False)
    else:
        classes = np.empty(len(enc.classes), dtype=object)
        classes[:] = enc.classes  # element-wise: label sets are tuples and must stay whole
        label = classes[best]
    labels = pd.DataFrame({
        "unit": enc.unit_names.array,
        "label": label,
        "confidence": confidence,
        "n_annotations": enc.per_unit().copy(),  # enc keeps its own
    }, copy=False)  # fresh arrays: pandas 3 would otherwise copy each of them
    posteriors = pd.DataFrame(post, index=pd.Index(enc.unit_names.array, name="unit"),
                              columns=column_names(enc.classes), copy=False)
    ties = TiedUnits(enc.unit_names.array, tied_rows)
    if ties:
        notes.append(f"{len(ties)} unit(s) tied; each broken by a draw keyed on its unit id (reproducible, no "
                     "label favoured); `ties` lists them")
    return AggregateResult(method, labels, posteriors, annotators, notes, ties)


def break_ties(candidates: np.ndarray, unit_ids) -> np.ndarray:
    """For each tied unit, one of its ``candidates`` (a boolean row: the classes tied for first),
    drawn by a hash of the unit's id: the same unit gets the same label in every run, on every
    machine, whatever else is in the table, and over many ties every tied label wins as often (the
    first in schema order no longer wins them all, a bias the curated dataset would inherit)."""
    from ..table.hashing import stable_hash

    key = stable_hash(unit_ids)
    count = candidates.sum(axis=1).astype(np.uint64)
    nth = (key % count).astype(np.int64) + 1  # the nth candidate, counting from 1
    return np.argmax(candidates & (np.cumsum(candidates, axis=1) == nth[:, None]), axis=1)
