"""Row-wise maximum, argmax and sum of tall, narrow arrays (units x classes) without numpy's per-row cost."""

from __future__ import annotations

import numpy as np


def row_argmax(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and value of each row's maximum, the first one on ties.

    A loop over the (few) columns: numpy's ``argmax(axis=1)`` on a tall, narrow array pays a
    per-row cost that dominates majority vote on a million rows.
    """
    if scores.shape[1] > 32:
        best = scores.argmax(axis=1)
        return best, np.take_along_axis(scores, best[:, None], axis=1)[:, 0]
    top = row_max(scores)
    # the first column holding the maximum = the number of leading columns below it; counted
    # without masked writes, which branch on every row
    best = np.zeros(len(scores), dtype=np.int64)
    below = np.ones(len(scores), dtype=bool)
    for j in range(scores.shape[1] - 1):
        below &= scores[:, j] != top
        best += below
    return best, top


def row_max(x: np.ndarray) -> np.ndarray:
    """Each row's maximum (a column loop, for the same reason as :func:`row_argmax`)."""
    if x.shape[1] > 32:
        return x.max(axis=1)
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(out, x[:, j], out=out)
    return out


def row_sum(x: np.ndarray) -> np.ndarray:
    """Each row's sum (a column loop, for the same reason as :func:`row_argmax`)."""
    if x.shape[1] > 32:
        return x.sum(axis=1)
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        out += x[:, j]
    return out
