"""Write crowd-kit's outputs on seeded simulated crowds, for the tests (which cannot import crowd-kit).

Run it with crowd-kit's venv, from the repository root::

    .venv-crowdkit/bin/python -m benchmarks.crowdkit_em_fixtures

It imports nothing from workbench (only :mod:`benchmarks.crowd`, numpy and pandas), and writes
``tests/fixtures/crowdkit/*.csv``; the tests rebuild the same crowds from the same seeds and check
the fixture's ``truth`` column against them first, so a changed generator fails loudly instead of
comparing against the wrong crowd.

**mace_skewed.csv** — MACE on a crowd shaped like a real product-matching crowd (binary, 12% positive,
3 answers per item, long-tailed participation: a few workers give most answers, many give a
handful). Columns: ``task``, ``truth``, ``crowdkit`` (``MACE(n_restarts=1, n_iter=50,
random_state=0)`` on the table as generated) and ``crowdkit_aligned`` (the same on the same rows
with workers and labels renamed by order of first appearance, :func:`aligned`).

**dawid_skene_<crowd>.csv**, **dawid_skene_history.json** — ``DawidSkene(n_iter=100, tol=1e-5)``
and ``OneCoinDawidSkene(n_iter=100, tol=1e-5)`` on two crowds (``DS_CROWDS``: ``skewed``, the
crowd above, and ``four_classes``, 4 classes with spammers and biased workers): the labels
(columns ``task``, ``truth``, ``dawid_skene``, ``one_coin_dawid_skene``) and each run's
``loss_history_`` (the bound per annotation after every iteration, the measure crowd-kit's stopping
rule reads).

Why two MACE columns: crowd-kit 1.4.2's MACE indexes its per-worker strategy table by the sorted worker
and label names (``groupby(["worker", "label"]).sum().unstack()``) but reads it with
first-appearance codes (``pd.factorize``), so each worker is given another worker's spamming
strategy unless both orders agree. Its result then depends on the workers' names; renamed so that
the two orders agree (``crowdkit_aligned``), crowd-kit computes the MACE of the paper. (Its restarts
are all the same start, ``random_state`` being reused, so one restart is all ten.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.crowd import Crowd, make_crowd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "crowdkit"

#: the product-shaped crowd of mace_skewed.csv (small enough for a test)
MACE_SKEWED = dict(n_tasks=2000, n_workers=60, n_classes=2, overlap=3, accuracy=(0.55, 0.95), spammers=0.1,
                   seed=3, participation=1.5, class_weights=[0.88, 0.12])


#: the crowds of dawid_skene.csv
DS_CROWDS = {
    "skewed": MACE_SKEWED,
    "four_classes": dict(n_tasks=3000, n_workers=40, n_classes=4, overlap=4, spammers=0.1, biased=0.1, seed=1),
}


def mace_skewed_crowd() -> Crowd:
    return make_crowd(**MACE_SKEWED)  # type: ignore[arg-type]


def aligned(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The rows with workers and labels renamed so that sorted order is first-appearance order
    (``W0000``, ``W0001``, ... and ``L00``, ``L01``, ...), and the map back from new to old labels."""
    workers = pd.unique(table["worker"])
    labels = pd.unique(table["label"])
    new_labels = {old: f"L{i:02d}" for i, old in enumerate(labels)}
    out = table.assign(worker=table["worker"].map({old: f"W{i:04d}" for i, old in enumerate(workers)}),
                       label=table["label"].map(new_labels))
    return out, {new: old for old, new in new_labels.items()}


def write_mace_skewed() -> Path:
    from crowdkit.aggregation import MACE

    crowd = mace_skewed_crowd()
    plain = MACE(n_restarts=1, n_iter=50, random_state=0).fit_predict(crowd.table)
    table, back = aligned(crowd.table)
    lined_up = MACE(n_restarts=1, n_iter=50, random_state=0).fit_predict(table).map(back)
    tasks = crowd.truth.index
    frame = pd.DataFrame({"task": tasks, "truth": crowd.truth.to_numpy(),
                          "crowdkit": plain.reindex(tasks).to_numpy(),
                          "crowdkit_aligned": lined_up.reindex(tasks).to_numpy()})
    path = OUT / "mace_skewed.csv"
    frame.to_csv(path, index=False)
    return path


def write_dawid_skene() -> Path:
    import json

    from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene

    history: dict[str, dict[str, list[float]]] = {}
    for name, params in DS_CROWDS.items():
        crowd = make_crowd(**params)  # type: ignore[arg-type]
        tasks = crowd.truth.index
        frame = pd.DataFrame({"task": tasks, "truth": crowd.truth.to_numpy()})
        history[name] = {}
        for method, model in (("dawid_skene", DawidSkene(n_iter=100, tol=1e-5)),
                              ("one_coin_dawid_skene", OneCoinDawidSkene(n_iter=100, tol=1e-5))):
            frame[method] = model.fit_predict(crowd.table).reindex(tasks).to_numpy()
            history[name][method] = [float(x) for x in model.loss_history_]
        frame.to_csv(OUT / f"dawid_skene_{name}.csv", index=False)
    path = OUT / "dawid_skene_history.json"
    path.write_text(json.dumps(history, indent=1) + "\n")
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for write in (write_mace_skewed, write_dawid_skene):
        print("wrote", write().relative_to(ROOT))


if __name__ == "__main__":
    main()
