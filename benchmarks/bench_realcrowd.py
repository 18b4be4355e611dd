"""Aggregation on real crowds with known truth: every workbench categorical method next to crowd-kit's.

Usage (``make bench`` runs it after ``bench_aggregate``)::

    python -m benchmarks.bench_realcrowd --crowdkit .venv-crowdkit/bin/python

The data are public crowds collected by others (``../shared/crowd-data`` beside the repository, or ``--data DIR``:
``NAME.labels.csv`` with ``unit, annotator, label`` and ``NAME.truth.csv`` with ``unit, label``;
see that folder's README): face (4 classes), dog (4 classes), duck (binary). When the folder is
missing the benchmark says so in one line and exits 0.

For each data set, every aggregator the registry has that takes single-choice labels runs here
(a method that needs something the data lack, such as gold, is listed with the reason), and every
crowd-kit method that fits runs in crowd-kit's venv on the same rows (:mod:`benchmarks.crowdkit_run`);
a workbench method and the crowd-kit method of the same name (:data:`CROWDKIT_NAME`) share a row.
Both are timed by the same rule (:mod:`benchmarks.timing`). Printed per method: accuracy against
the truth for both, seconds for both, the speed ratio, and the share of units where both give the
same label; then, per data set, the issue's targets: workbench's best method within 0.5 points of
crowd-kit's best, every shared method within 1 point of crowd-kit's (not below it by more).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.bench_aggregate import machine, run_crowdkit
from benchmarks.timing import MIN_TIME, best_of

#: the crowd data beside the repository (``../shared/crowd-data``); ``--data DIR`` overrides it
DATA = Path(__file__).resolve().parents[2] / "shared" / "crowd-data"
DATASETS = ("face", "dog", "duck")
#: workbench method -> the crowd-kit method it is compared with (a key of crowdkit_run.METHODS)
CROWDKIT_NAME = {"majority": "majority", "wawa": "wawa", "dawid_skene": "dawid_skene",
                 "one_coin_dawid_skene": "one_coin_dawid_skene", "mace": "mace", "glad": "glad",
                 "mmsr": "mmsr", "m_msr": "mmsr", "kos": "kos", "zero_based_skill": "zero_based_skill"}
#: crowd-kit methods run even when workbench has no method of that name (shown crowd-kit only)
CROWDKIT_METHODS = ("majority", "wawa", "zero_based_skill", "dawid_skene", "one_coin_dawid_skene", "glad",
                    "mmsr", "kos", "mace")
BEST_WITHIN = 0.005  # workbench's best method vs crowd-kit's best
SHARED_WITHIN = 0.01  # each shared method vs crowd-kit's


def load(data: Path, name: str) -> tuple[pd.DataFrame, pd.Series]:
    labels = pd.read_csv(data / f"{name}.labels.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(data / f"{name}.truth.csv", dtype=str, keep_default_na=False)
    for what, frame, cols in (("labels", labels, ("unit", "annotator", "label")), ("truth", truth, ("unit", "label"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise SystemExit(f"{data / f'{name}.{what}.csv'}: missing column {missing[0]!r} (expected {', '.join(cols)})")
    return labels[["unit", "annotator", "label"]], truth.set_index("unit")["label"]


def workbench_methods() -> list[str]:
    from workbench.models import LabelKind
    from workbench.registry import get_registry

    reg = get_registry()
    return [n for n in reg.names("aggregators") if LabelKind.SINGLE in reg.get("aggregators", n).kinds]


def accuracy(labels: pd.Series, truth: pd.Series) -> float:
    common = truth.index.intersection(labels.index)
    return float((labels.reindex(common) == truth.reindex(common)).mean())


def bench_dataset(args, name: str, tmp: Path) -> dict:
    from workbench.errors import WorkbenchError
    from workbench.models import LabelKind, LabelSchema
    from workbench.registry import get_registry

    table, truth = load(args.data, name)
    classes = tuple(sorted(set(table["label"]) | set(truth)))
    schema = LabelSchema(LabelKind.SINGLE, classes)
    reg = get_registry()
    ours = [m for m in workbench_methods() if not args.only or m in args.only]
    theirs = [m for m in CROWDKIT_METHODS if (not args.only or m in args.only)
              and (m != "kos" or len(classes) == 2)]  # KOS: binary labels only
    ck: dict = {"methods": {}}
    if args.crowdkit and theirs:
        data = tmp / f"{name}.parquet"
        table.rename(columns={"unit": "task", "annotator": "worker"}).to_parquet(data)
        ck = run_crowdkit(args.crowdkit, data, tmp / f"ck-{name}", theirs, args.repeats, args.mace_restarts,
                          args.min_time, keep_going=True)
    rows = []
    for method in ours:
        func = reg.get("aggregators", method).func
        row: dict = {"method": method}
        try:
            func(table.head(200), schema)  # warm-up: imports and first-call costs are not timed
            seconds, result = best_of(args.repeats, lambda: func(table, schema), args.min_time)
        except Exception as e:  # noqa: BLE001 - a method that cannot run on this data is reported, not fatal
            row["skipped"] = str(e).splitlines()[0] if isinstance(e, WorkbenchError) else f"{type(e).__name__}: {e}"
            rows.append(row)
            continue
        labels = pd.Series(result.labels["label"].astype(str).to_numpy(), index=result.labels["unit"].astype(str))
        row.update(seconds=seconds, accuracy=accuracy(labels, truth), ties=len(result.ties))
        peer = CROWDKIT_NAME.get(method)
        if peer in ck["methods"]:
            row["crowdkit_method"] = peer
            _add_crowdkit(row, ck["methods"][peer], tmp / f"ck-{name}" / f"{peer}.parquet", truth, labels)
        rows.append(row)
    shared = {r.get("crowdkit_method") for r in rows}
    for peer in theirs:  # crowd-kit methods workbench has no method for
        if peer in ck["methods"] and peer not in shared:
            row = {"method": f"({peer})", "crowdkit_method": peer}
            _add_crowdkit(row, ck["methods"][peer], tmp / f"ck-{name}" / f"{peer}.parquet", truth, None)
            rows.append(row)
    return {"name": name, "units": int(table["unit"].nunique()), "annotators": int(table["annotator"].nunique()),
            "rows": len(table), "classes": len(classes), "methods": rows, "verdict": verdict(rows)}


def _add_crowdkit(row: dict, timing: dict, path: Path, truth: pd.Series, labels: pd.Series | None) -> None:
    if "error" in timing:
        row["crowdkit_error"] = timing["error"]
        return
    frame = pd.read_parquet(path)
    their = pd.Series(frame["label"].astype(str).to_numpy(), index=frame["task"].astype(str).to_numpy())
    row["crowdkit_seconds"] = timing["seconds"]
    row["crowdkit_accuracy"] = accuracy(their, truth)
    if labels is not None:
        row["speedup"] = timing["seconds"] / row["seconds"]
        row["same_label_share"] = float((labels == their.reindex(labels.index)).mean())


def verdict(rows: list[dict]) -> dict:
    ours = [r for r in rows if "accuracy" in r]
    theirs = [r for r in rows if "crowdkit_accuracy" in r]
    out: dict = {}
    if ours and theirs:
        best = max(ours, key=lambda r: r["accuracy"])
        their_best = max(theirs, key=lambda r: r["crowdkit_accuracy"])
        out["best"] = {"workbench": best["method"], "accuracy": best["accuracy"],
                       "crowdkit": their_best["crowdkit_method"], "crowdkit_accuracy": their_best["crowdkit_accuracy"],
                       "met": best["accuracy"] >= their_best["crowdkit_accuracy"] - BEST_WITHIN}
    out["shared_missed"] = [r["method"] for r in ours if "crowdkit_accuracy" in r
                            and r["accuracy"] < r["crowdkit_accuracy"] - SHARED_WITHIN]
    return out


def _f(x, fmt: str, unit: str = "") -> str:
    return "-" if x is None or x != x else f"{x:{fmt}}{unit}"


def report(results: dict) -> str:
    lines = []
    for d in results["datasets"]:
        lines += ["", f"**{d['name']}**: {d['units']:,} units, {d['annotators']} annotators, {d['rows']:,} labels, "
                  f"{d['classes']} classes", "",
                  "| method | accuracy wb / ck | difference (points) | workbench s | crowd-kit s | speed-up | same label |",
                  "|---|---|---|---|---|---|---|"]
        for r in d["methods"]:
            if "skipped" in r:
                lines.append(f"| {r['method']} | skipped: {r['skipped']} | | | | | |")
                continue
            ck_acc = r.get("crowdkit_accuracy")
            diff = (r["accuracy"] - ck_acc) * 100 if "accuracy" in r and ck_acc is not None else None
            ck_cell = r.get("crowdkit_error", _f(ck_acc, ".4f"))
            lines.append(f"| {r['method']} | {_f(r.get('accuracy'), '.4f')} / {ck_cell} | {_f(diff, '+.2f')} | "
                         f"{_f(r.get('seconds'), '.4f')} | {_f(r.get('crowdkit_seconds'), '.3f')} | "
                         f"{_f(r.get('speedup'), '.0f', 'x')} | {_f(r.get('same_label_share'), '.2%')} |")
        v = d["verdict"]
        if "best" in v:
            b = v["best"]
            lines += ["", f"best: workbench {b['workbench']} {b['accuracy']:.4f}, crowd-kit {b['crowdkit']} "
                      f"{b['crowdkit_accuracy']:.4f}: within {BEST_WITHIN * 100:.1f} points: "
                      + ("met" if b["met"] else "MISSED")]
        if "best" in v:
            lines.append(f"shared methods within {SHARED_WITHIN * 100:.0f} point of crowd-kit: "
                         + ("met" if not v["shared_missed"] else "MISSED by " + ", ".join(v["shared_missed"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help=f"folder of NAME.labels.csv / NAME.truth.csv ({DATA})")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated names in that folder")
    ap.add_argument("--crowdkit", help="python of a venv with crowd-kit (workbench alone when not given)")
    ap.add_argument("--repeats", type=int, default=3, help="at least this many timed calls per measurement")
    ap.add_argument("--min-time", type=float, default=MIN_TIME,
                    help="and until this many seconds of calls have run (both libraries)")
    ap.add_argument("--mace-restarts", type=int, default=10, help="crowd-kit's MACE restarts (workbench's default: 10)")
    ap.add_argument("--only", help="comma-separated methods (workbench or crowd-kit names); all when not given")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    args.only = set(args.only.split(",")) if args.only else None
    names = [n for n in args.datasets.split(",") if n]
    if not args.data.is_dir():
        print(f"real-crowd benchmark skipped: {args.data} not found (the public crowds with truth; see --data)")
        return 0
    missing = [n for n in names if not (args.data / f"{n}.labels.csv").exists()]
    if missing:
        print(f"real-crowd benchmark: no {missing[0]}.labels.csv in {args.data}", file=sys.stderr)
        return 2
    results: dict = {"machine": machine(), "params": {k: (sorted(v) if isinstance(v, set) else str(v))
                                                      for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="wb-realcrowd-") as tmp:
        results["datasets"] = [bench_dataset(args, n, Path(tmp)) for n in names]
    print(json.dumps(results["machine"]))
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
