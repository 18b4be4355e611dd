"""A synthetic crowd with known truth, for benchmarks and the aggregation tests.

Tasks get ``overlap`` distinct workers each. A worker is one of:

- *honest*: right with their own accuracy (drawn uniformly from ``accuracy``), otherwise a
  uniformly random wrong class;
- *spammer*: a uniformly random class, whatever the truth;
- *biased*: with probability ``bias_strength`` their favourite class, else like an honest worker.

By default every worker is equally likely to be drawn for a task. ``participation = s > 0`` makes
participation long-tailed, as on real crowdsourcing platforms: worker ``r`` (in a random order)
is drawn with weight ``1 / (r + 1) ** s`` (Zipf-like), so a few workers give most answers and many
give a handful. A task's ``overlap`` workers are still distinct.

Everything is vectorized and seeded; the table comes out grouped by task (one block of rows
per task), as most exports are, unless ``shuffle`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Crowd:
    table: pd.DataFrame  # columns task, worker, label (crowd-kit's names)
    truth: pd.Series  # index task -> true label
    kind: np.ndarray  # per worker: "honest", "spammer" or "biased"
    accuracy: np.ndarray  # per worker: accuracy when answering honestly
    classes: tuple[str, ...]

    def long_table(self) -> pd.DataFrame:
        """The same rows with workbench's column names (unit, annotator, label)."""
        return self.table.rename(columns={"task": "unit", "worker": "annotator"})


def make_crowd(n_tasks: int = 1000, n_workers: int = 20, n_classes: int = 3, overlap: int = 5,
               accuracy: tuple[float, float] = (0.55, 0.95), spammers: float = 0.0, biased: float = 0.0,
               bias_strength: float = 0.6, class_weights: list[float] | None = None, seed: int = 0,
               shuffle: bool = False, participation: float = 0.0) -> Crowd:
    if overlap > n_workers:
        raise ValueError("overlap cannot exceed the number of workers")
    rng = np.random.default_rng(seed)
    classes = tuple(f"c{i}" for i in range(n_classes))
    p = None if class_weights is None else np.asarray(class_weights, dtype=float) / np.sum(class_weights)
    truth = rng.choice(n_classes, size=n_tasks, p=p)
    kind = np.full(n_workers, "honest", dtype=object)
    n_spam, n_bias = int(round(spammers * n_workers)), int(round(biased * n_workers))
    roles = rng.permutation(n_workers)
    kind[roles[:n_spam]] = "spammer"
    kind[roles[n_spam:n_spam + n_bias]] = "biased"
    acc = rng.uniform(accuracy[0], accuracy[1], n_workers)
    favourite = rng.integers(0, n_classes, n_workers)

    if participation > 0:
        workers = _zipf_workers(rng, n_tasks, n_workers, overlap, participation)
    else:
        workers = _distinct_workers(rng, n_tasks, n_workers, overlap)
    task = np.repeat(np.arange(n_tasks), overlap)
    worker = workers.reshape(-1)
    true = truth[task]
    wrong = (true + rng.integers(1, n_classes, len(task))) % n_classes if n_classes > 1 else true
    label = np.where(rng.random(len(task)) < acc[worker], true, wrong)
    spam = kind[worker] == "spammer"
    label[spam] = rng.integers(0, n_classes, int(spam.sum()))
    leaning = (kind[worker] == "biased") & (rng.random(len(task)) < bias_strength)
    label[leaning] = favourite[worker[leaning]]
    if shuffle:
        order = rng.permutation(len(task))
        task, worker, label = task[order], worker[order], label[order]
    names = np.array(classes, dtype=object)
    table = pd.DataFrame({
        "task": pd.array(np.char.add("t", task.astype(str)), dtype="str"),
        "worker": pd.array(np.char.add("w", worker.astype(str)), dtype="str"),
        "label": pd.array(names[label].astype(str), dtype="str"),
    })
    truth_s = pd.Series(names[truth], index=np.char.add("t", np.arange(n_tasks).astype(str)), name="truth")
    return Crowd(table, truth_s, kind, acc, classes)


def _distinct_workers(rng: np.random.Generator, n_tasks: int, n_workers: int, overlap: int) -> np.ndarray:
    """``overlap`` different workers per task: redraw the rows that picked someone twice."""
    workers = rng.integers(0, n_workers, (n_tasks, overlap))
    while True:
        s = np.sort(workers, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1)) if overlap > 1 else np.zeros(0, dtype=int)
        if len(bad) == 0:
            return workers
        workers[bad] = rng.integers(0, n_workers, (len(bad), overlap))


def _zipf_workers(rng: np.random.Generator, n_tasks: int, n_workers: int, overlap: int, s: float) -> np.ndarray:
    """``overlap`` different workers per task, worker of rank r drawn with weight 1 / (r + 1) ** s:
    the Gumbel top-k trick (the ``overlap`` largest ``log w + Gumbel`` keys are a draw without
    replacement proportional to ``w``), in chunks of tasks to bound memory."""
    rank = rng.permutation(n_workers)  # which worker holds which rank: roles are not tied to activity
    log_w = -s * np.log(rank + 1.0)
    out = np.empty((n_tasks, overlap), dtype=np.int64)
    chunk = max(1, 4_000_000 // max(n_workers, 1))
    for start in range(0, n_tasks, chunk):
        stop = min(n_tasks, start + chunk)
        keys = log_w[None, :] + rng.gumbel(size=(stop - start, n_workers))
        out[start:stop] = np.argpartition(-keys, overlap - 1, axis=1)[:, :overlap]
    return out
