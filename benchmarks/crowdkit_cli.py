"""What ``workbench aggregate FILE --out OUT`` does, written with crowd-kit: read a Parquet label
file, fit, write the labels to Parquet; run as a whole process in crowd-kit's own venv, so its
time includes the interpreter, the imports, the read, the fit and the write (bench_cli.py times it).

Usage: python benchmarks/crowdkit_cli.py DATA.parquet OUT.parquet --method dawid_skene|majority

Imports nothing from workbench (crowd-kit's pinned dependencies only).
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--method", default="dawid_skene", choices=["dawid_skene", "majority"])
    args = ap.parse_args()
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote

    data = pd.read_parquet(args.data)[["task", "worker", "label"]]
    model = DawidSkene(n_iter=100, tol=1e-5) if args.method == "dawid_skene" else MajorityVote()
    labels = model.fit_predict(data)
    labels.rename("label").rename_axis("task").reset_index().to_parquet(args.out, index=False)


if __name__ == "__main__":
    main()
