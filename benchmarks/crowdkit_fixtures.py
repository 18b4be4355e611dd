"""Write crowd-kit's labels on a few small seeded crowds into tests/fixtures/crowdkit/ (run in crowd-kit's venv).

Usage (from the repository root):

    .venv-crowdkit/bin/python benchmarks/crowdkit_fixtures.py [OUT_DIR]

The tests cannot import crowd-kit (it is not in the test venv), so they read these files, rebuild
the same crowds with the same functions and seeds (:data:`CROWDS`), check the crowd is the same
row for row (``crowds.json`` keeps a SHA-256 of each table) and compare workbench's labels with
crowd-kit's. Imports nothing from workbench.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.crowd import make_crowd  # noqa: E402
from benchmarks.multilabel_crowd import make_multilabel_crowd  # noqa: E402

#: name -> (maker, keyword arguments, crowd-kit methods run on it). The tests import this map.
CROWDS: dict[str, tuple[str, dict, list[str]]] = {
    "spam3": ("make_crowd", {"n_tasks": 300, "n_workers": 15, "n_classes": 3, "overlap": 5, "spammers": 0.3,
                             "seed": 11}, ["glad", "mmsr"]),
    "honest4": ("make_crowd", {"n_tasks": 300, "n_workers": 12, "n_classes": 4, "overlap": 5, "seed": 12},
                ["glad", "mmsr"]),
    "biased3": ("make_crowd", {"n_tasks": 300, "n_workers": 15, "n_classes": 3, "overlap": 5, "biased": 0.2,
                               "spammers": 0.1, "seed": 15}, ["glad", "mmsr"]),
    "binary": ("make_crowd", {"n_tasks": 400, "n_workers": 15, "n_classes": 2, "overlap": 5, "spammers": 0.2,
                              "seed": 13}, ["glad", "mmsr", "kos"]),
    "binary_sparse": ("make_crowd", {"n_tasks": 400, "n_workers": 40, "n_classes": 2, "overlap": 3,
                                     "accuracy": (0.6, 0.9), "seed": 16}, ["kos"]),
    "multi": ("make_multilabel_crowd", {"n_tasks": 300, "n_workers": 15, "n_labels": 4, "overlap": 5,
                                        "spammers": 0.2, "seed": 14}, ["br_majority", "br_dawid_skene"]),
}
MAKERS = {"make_crowd": make_crowd, "make_multilabel_crowd": make_multilabel_crowd}


def crowd_table(name: str) -> pd.DataFrame:
    maker, kwargs, _ = CROWDS[name]
    return MAKERS[maker](**kwargs).table


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 of the rows as text (label sets as JSON lists): the same crowd gives the same digest."""
    h = hashlib.sha256()
    for t, w, lab in zip(table["task"], table["worker"], table["label"]):
        shown = json.dumps(sorted(lab)) if isinstance(lab, (tuple, list)) else str(lab)
        h.update(f"{t}\t{w}\t{shown}\n".encode())
    return h.hexdigest()


def run(method: str, table: pd.DataFrame) -> pd.Series:
    from crowdkit.aggregation import GLAD, KOS, MMSR, BinaryRelevance, DawidSkene, MajorityVote

    if method == "glad":
        return GLAD(n_iter=100, tol=1e-5).fit_predict(table)
    if method == "mmsr":
        return MMSR(n_iter=10000, tol=1e-10, random_state=0).fit_predict(table)
    if method == "kos":
        return KOS(n_iter=100, random_state=0).fit_predict(table)
    data = table.assign(label=table["label"].map(list))
    base = MajorityVote() if method == "br_majority" else DawidSkene(n_iter=100, tol=1e-5)
    out = BinaryRelevance(base).fit_predict(data)
    return out.map(lambda labels: json.dumps(sorted(labels)))


def main() -> None:
    import crowdkit

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "crowdkit"
    out.mkdir(parents=True, exist_ok=True)
    meta: dict = {"crowdkit_version": getattr(crowdkit, "__version__", None), "crowds": {}}
    for name, (maker, kwargs, methods) in CROWDS.items():
        table = crowd_table(name)
        meta["crowds"][name] = {"maker": maker, "kwargs": kwargs, "rows": len(table), "sha256": table_digest(table)}
        for method in methods:
            labels = run(method, table)
            frame = labels.rename("label").rename_axis("task").reset_index()
            frame["label"] = frame["label"].astype(str)
            frame.to_csv(out / f"{name}.{method}.csv", index=False)
            print(f"{name}.{method}: {len(frame)} tasks")
    (out / "crowds.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
