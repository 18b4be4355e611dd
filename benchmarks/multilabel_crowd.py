"""Simulated crowds for label sets (multi-label) and ordinal scales, with known truth.

Like :func:`benchmarks.crowd.make_crowd` (seeded, vectorized, numpy and pandas only, so crowd-kit's
venv can import it too), for the two label kinds that function does not make:

- :func:`make_multilabel_crowd`: each task's true set holds each of ``n_labels`` labels with
  probability ``density``; an honest worker gets each label's presence right with their own
  accuracy, a spammer ticks each label with probability 1/2. A row's label is a sorted tuple.
- :func:`make_ordinal_crowd`: a true grade on a scale of ``n_levels``; an honest worker answers the
  true grade plus rounded Gaussian noise (their own spread), clipped to the scale; a spammer picks
  any grade uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .crowd import _distinct_workers


@dataclass
class LabelCrowd:
    table: pd.DataFrame  # columns task, worker, label (crowd-kit's names)
    truth: pd.Series  # index task -> true label (a tuple for label sets, a grade name for scales)
    kind: np.ndarray  # per worker: "honest" or "spammer"
    classes: tuple[str, ...]

    def long_table(self) -> pd.DataFrame:
        return self.table.rename(columns={"task": "unit", "worker": "annotator"})


def _roles(rng: np.random.Generator, n_workers: int, spammers: float) -> np.ndarray:
    kind = np.full(n_workers, "honest", dtype=object)
    kind[rng.permutation(n_workers)[:int(round(spammers * n_workers))]] = "spammer"
    return kind


def _frame(task: np.ndarray, worker: np.ndarray, labels: list) -> pd.DataFrame:
    out = pd.DataFrame({"task": np.char.add("t", task.astype(str)).astype(object),
                        "worker": np.char.add("w", worker.astype(str)).astype(object)})
    out["label"] = pd.Series(labels, dtype=object)
    return out


def make_multilabel_crowd(n_tasks: int = 300, n_workers: int = 15, n_labels: int = 4, overlap: int = 5,
                          accuracy: tuple[float, float] = (0.6, 0.95), spammers: float = 0.0,
                          density: float = 0.35, seed: int = 0) -> LabelCrowd:
    rng = np.random.default_rng(seed)
    classes = tuple(f"l{i}" for i in range(n_labels))
    truth = rng.random((n_tasks, n_labels)) < density
    kind = _roles(rng, n_workers, spammers)
    acc = rng.uniform(accuracy[0], accuracy[1], n_workers)
    workers = _distinct_workers(rng, n_tasks, n_workers, overlap)
    task = np.repeat(np.arange(n_tasks), overlap)
    worker = workers.reshape(-1)
    right = rng.random((len(task), n_labels)) < acc[worker][:, None]
    given = np.where(right, truth[task], ~truth[task])
    spam = kind[worker] == "spammer"
    given[spam] = rng.random((int(spam.sum()), n_labels)) < 0.5
    names = np.array(classes, dtype=object)
    labels = [tuple(names[row]) for row in given]
    truth_s = pd.Series([tuple(names[row]) for row in truth], index=[f"t{i}" for i in range(n_tasks)],
                        name="truth", dtype=object)
    return LabelCrowd(_frame(task, worker, labels), truth_s, kind, classes)


def make_ordinal_crowd(n_tasks: int = 500, n_workers: int = 15, n_levels: int = 5, overlap: int = 5,
                       spread: tuple[float, float] = (0.4, 1.5), spammers: float = 0.0,
                       seed: int = 0) -> LabelCrowd:
    rng = np.random.default_rng(seed)
    classes = tuple(f"g{i}" for i in range(1, n_levels + 1))
    truth = rng.integers(0, n_levels, n_tasks)
    kind = _roles(rng, n_workers, spammers)
    sd = rng.uniform(spread[0], spread[1], n_workers)
    workers = _distinct_workers(rng, n_tasks, n_workers, overlap)
    task = np.repeat(np.arange(n_tasks), overlap)
    worker = workers.reshape(-1)
    grade = np.clip(np.rint(truth[task] + rng.normal(0.0, 1.0, len(task)) * sd[worker]), 0, n_levels - 1)
    spam = kind[worker] == "spammer"
    grade[spam] = rng.integers(0, n_levels, int(spam.sum()))
    names = np.array(classes, dtype=object)
    truth_s = pd.Series(names[truth], index=[f"t{i}" for i in range(n_tasks)], name="truth", dtype=object)
    return LabelCrowd(_frame(task, worker, list(names[grade.astype(int)])), truth_s, kind, classes)
