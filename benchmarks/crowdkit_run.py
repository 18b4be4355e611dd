"""Run crowd-kit's aggregators on a label file and time them (runs in crowd-kit's own venv).

Usage: python benchmarks/crowdkit_run.py DATA.parquet OUT_DIR --methods mv,ds --repeats 3

Reads ``task, worker, label`` rows (methods: :data:`METHODS`, named as workbench names them), times ``fit_predict`` (after the data is loaded: the fastest
of at least ``--repeats`` calls and of ``--min-time`` seconds of calls: benchmarks/timing.py, the
rule bench_aggregate.py applies to workbench), and writes ``OUT_DIR/<method>.parquet`` (task, label) and ``OUT_DIR/times.json``.
Imports nothing from workbench, so it runs with crowd-kit's pinned dependencies.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from timing import best_of  # benchmarks/timing.py: this script's folder is on sys.path

#: the methods this script runs, by the name workbench gives the same method (crowd-kit's defaults)
METHODS = ("majority", "wawa", "dawid_skene", "one_coin_dawid_skene", "mace", "glad", "mmsr", "kos",
           "zero_based_skill")


def make(method: str, mace_restarts: int):
    from crowdkit.aggregation import (
        GLAD,
        KOS,
        MACE,
        MMSR,
        BinaryRelevance,
        DawidSkene,
        MajorityVote,
        OneCoinDawidSkene,
        Wawa,
        ZeroBasedSkill,
    )

    return {
        "glad": lambda: GLAD(n_iter=100, tol=1e-5),
        "mmsr": lambda: MMSR(n_iter=10000, tol=1e-10, random_state=0),
        "kos": lambda: KOS(n_iter=100, random_state=0),
        # label sets: the Parquet file's label column holds lists
        "br_majority": lambda: BinaryRelevance(MajorityVote()),
        "br_dawid_skene": lambda: BinaryRelevance(DawidSkene(n_iter=100, tol=1e-5)),
        "majority": lambda: MajorityVote(),
        "wawa": lambda: Wawa(),
        "dawid_skene": lambda: DawidSkene(n_iter=100, tol=1e-5),
        "one_coin_dawid_skene": lambda: OneCoinDawidSkene(n_iter=100, tol=1e-5),
        "mace": lambda: MACE(n_restarts=mace_restarts, n_iter=50, random_state=0),
        "zero_based_skill": lambda: ZeroBasedSkill(),
    }[method]()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--methods", default="majority,dawid_skene")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mace-restarts", type=int, default=10)
    ap.add_argument("--min-time", type=float, default=0.0)
    ap.add_argument("--keep-going", action="store_true",
                    help="a method that fails is reported in times.json ({'error': ...}) instead of stopping")
    args = ap.parse_args()
    import crowdkit

    data = pd.read_parquet(args.data)[["task", "worker", "label"]]
    if len(data) and not isinstance(data["label"].iloc[0], str):  # label sets: arrays from Parquet -> lists
        data["label"] = data["label"].map(list)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, dict] = {"crowdkit_version": crowdkit.__version__ if hasattr(crowdkit, "__version__") else None,
                              "pandas_version": pd.__version__, "methods": {}}
    for method in args.methods.split(","):
        try:
            best, (model, labels) = best_of(args.repeats, lambda m: (m, m.fit_predict(data)), args.min_time,
                                            setup=lambda: make(method, args.mace_restarts))
        except Exception as e:  # noqa: BLE001 - a method that cannot run here (KOS on 4 classes) is reported
            if not args.keep_going:
                raise
            times["methods"][method] = {"error": f"{type(e).__name__}: {e}".splitlines()[0][:200]}
            continue
        extra = {"iterations": len(model.loss_history_)} if hasattr(model, "loss_history_") else {}
        if method.startswith("br_"):  # label sets as sorted JSON lists
            labels = labels.map(lambda x: json.dumps(sorted(x)))
        labels.rename("label").rename_axis("task").reset_index().astype(str).to_parquet(out / f"{method}.parquet")
        times["methods"][method] = {"seconds": best, **extra}
    (out / "times.json").write_text(json.dumps(times, indent=2))


if __name__ == "__main__":
    main()
