"""Agreement and annotator quality, computed from the long ``(unit, annotator, label)`` table.

Metrics are registered through ``register_metrics``; each returns a :class:`MetricResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema, label_key


@dataclass
class MetricResult:
    """``value`` is None when the measure is undefined for the data; ``note`` then says why."""

    name: str
    value: float | None
    note: str | None = None
    detail: Any = None


def count_matrix(table: pd.DataFrame, schema: LabelSchema) -> tuple[np.ndarray, list, list]:
    """Units x categories counts of votes (categories: schema labels, or label keys for sets/spans)."""
    if schema.categorical:
        cats = list(schema.labels)
        codes = pd.Categorical(table["label"], categories=cats).codes
    else:
        keys = table["label"].map(label_key)
        codes, uniques = pd.factorize(keys)
        cats = list(uniques)
    units, ucodes = np.unique(table["unit"].to_numpy(dtype=object), return_inverse=True)
    counts = np.zeros((len(units), max(len(cats), 1)), dtype=np.int64)
    np.add.at(counts, (ucodes, codes), 1)
    return counts, list(units), cats
