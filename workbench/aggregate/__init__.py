"""Aggregation: from the long ``(unit, annotator, label)`` table to one label per unit.

Methods are registered through ``register_aggregators``; each returns an :class:`AggregateResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

RESULT_COLUMNS = ["unit", "label", "confidence", "n_annotations"]


@dataclass
class AggregateResult:
    """Per unit: the label, a confidence (posterior or vote share) and the number of annotations.

    ``posteriors`` (optional) has one row per unit and one column per class; ``annotators``
    (optional) holds per-annotator estimates a method makes (skill, confusion); ``notes`` says
    what a user should know (ties, convergence, which method ``auto`` picked).
    """

    method: str
    labels: pd.DataFrame
    posteriors: pd.DataFrame | None = None
    annotators: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    ties: list[str] = field(default_factory=list)

    def __post_init__(self):
        missing = set(RESULT_COLUMNS) - set(self.labels.columns)
        if missing:
            raise ValueError(f"aggregate result lacks columns {sorted(missing)}")
