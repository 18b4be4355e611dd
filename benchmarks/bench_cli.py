"""The CLI on a million rows: whole ``workbench`` processes against a crowd-kit script.

Usage (``make bench`` runs it after building crowd-kit's venv)::

    python -m benchmarks.bench_cli --crowdkit .venv-crowdkit/bin/python [--repeats 3]

1. A seeded synthetic crowd (:mod:`benchmarks.crowd`: by default 200k tasks x 5 labels = 1M rows,
   200 workers, 3 classes, 10% spammers, 5% biased) is written to a Parquet label file with
   crowd-kit's column names (``task, worker, label``, which workbench reads too), and the truth of
   1% of the tasks to a gold file.
   (and its first 20 to a small gold file: `annotators` is timed with each).
2. Each command runs as a whole process, ``--repeats`` times, interleaved with the others (so a
   noisy stretch of the shared machine hits all of them): the time is wall-clock from start to exit
   (interpreter, imports, read, work, write), the memory the process's peak resident set
   (``ru_maxrss`` from ``wait4``). Printed: the fastest and the median run, the least CPU time (user +
   system: what the process itself did, whatever the load of the shared machine), the peak memory, and for
   aggregation the ratio to the crowd-kit script doing the same read, fit and write
   (:mod:`benchmarks.crowdkit_cli`, a whole process in crowd-kit's venv).
3. The floor under any CLI: ``python -c pass``, ``import numpy``, ``workbench --help``.
   Every command runs once untimed first, with Python's bytecode cache in the temp dir
   (``PYTHONPYCACHEPREFIX``; this environment sets ``PYTHONDONTWRITEBYTECODE``, under which every run
   would compile workbench's modules again, which an installed package never does).
   ``--before PYTHON``: the same workbench commands from another venv too (``/work/main/.venv/bin/python``:
   the code before a change), interleaved with these, as rows ``before: ...``.
4. The bootstrap interval of Cohen's kappa (in process, 100k units x 200 annotators), the
   computation ``workbench agreement`` runs for that metric.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"aggregate dawid_skene": 1.5, "aggregate majority": 1.5, "agreement": 3.0, "annotators": 3.0}
#: the small gold file: fewer units than auto needs to compare methods on gold (30), so `auto` takes
#: the label-count rule; the 1% gold file makes it compare the methods on gold (a row of its own)
SMALL_GOLD = 20
TARGET_RATIO = 5.0  # crowd-kit's whole process / workbench's, for Dawid-Skene


def run_once(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds (user + system), peak RSS in MB) of one whole process; raises on a
    non-zero exit. CPU time says what the process did when the shared machine is busy: wall time
    then includes waiting for a core."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def write_crowd(tmp: Path, n_tasks: int, n_workers: int, overlap: int, seed: int) -> None:
    """crowd.parquet and gold.parquet in ``tmp`` (run in a child process: see :func:`main`)."""
    import numpy as np
    import pandas as pd

    from benchmarks.crowd import make_crowd

    crowd = make_crowd(n_tasks=n_tasks, n_workers=n_workers, n_classes=3, overlap=overlap, spammers=0.1,
                       biased=0.05, seed=seed)
    data = tmp / "crowd.parquet"
    crowd.table.to_parquet(data, index=False)
    rng = np.random.default_rng(seed + 1)
    picked = np.sort(rng.choice(n_tasks, size=max(1, n_tasks // 100), replace=False))
    gold = pd.DataFrame({"unit": crowd.truth.index[picked], "label": crowd.truth.to_numpy()[picked]})
    gold.to_parquet(tmp / "gold.parquet", index=False)
    gold.head(SMALL_GOLD).to_parquet(tmp / "gold_small.parquet", index=False)


def workbench_commands(python: str, data: Path, gold: Path, tmp: Path, tag: str = "") -> dict[str, list[str]]:
    wb = [str(Path(python).parent / "workbench"), "-q"]
    return {
        "workbench --help": [*wb, "--help"],
        "aggregate dawid_skene": [*wb, "aggregate", str(data), "--method", "dawid_skene",
                                  "--out", str(tmp / f"wb_ds{tag}.parquet")],
        "aggregate majority": [*wb, "aggregate", str(data), "--method", "majority",
                               "--out", str(tmp / f"wb_mv{tag}.parquet")],
        "agreement": [*wb, "agreement", str(data), "--json"],
        "annotators": [*wb, "annotators", str(data), "--gold", str(gold.parent / "gold_small.parquet")],
        "annotators 1% gold": [*wb, "annotators", str(data), "--gold", str(gold)],
    }


def commands(args, data: Path, gold: Path, tmp: Path) -> dict[str, list[str]]:
    out = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    }
    ours = workbench_commands(sys.executable, data, gold, tmp)
    before = workbench_commands(args.before, data, gold, tmp, "_before") if args.before else {}
    for k, cmd in ours.items():
        out[k] = cmd
        if k in before:
            out[f"before: {k}"] = before[k]
    if args.crowdkit:
        script = str(ROOT / "benchmarks" / "crowdkit_cli.py")
        out["crowd-kit dawid_skene"] = [args.crowdkit, script, str(data), str(tmp / "ck_ds.parquet"),
                                        "--method", "dawid_skene"]
        out["crowd-kit majority"] = [args.crowdkit, script, str(data), str(tmp / "ck_mv.parquet"), "--method", "majority"]
    return out


def same_labels(a: Path, b: Path) -> float:
    import pandas as pd

    ours = pd.read_parquet(a)
    theirs = pd.read_parquet(b)
    ours = ours.set_index(ours.columns[0])["label"].astype(str)
    theirs = theirs.set_index(theirs.columns[0])["label"].astype(str)
    return float((ours.reindex(theirs.index) == theirs).mean())


def bench_cohen(args) -> tuple[float, list | None]:
    from workbench.agreement.intervals import cohen_interval
    from workbench.models import LabelKind, LabelSchema

    from benchmarks.crowd import make_crowd

    crowd = make_crowd(n_tasks=args.cohen_units, n_workers=args.cohen_annotators, n_classes=3, overlap=5,
                       spammers=0.1, seed=args.seed)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    table = crowd.long_table()
    best = float("inf")
    interval = None
    for _ in range(max(1, args.cohen_repeats)):
        start = time.perf_counter()
        interval = cohen_interval(table, schema)
        best = min(best, time.perf_counter() - start)
    return best, interval.as_list() if interval is not None else None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crowdkit", help="python of crowd-kit's venv (make bench: .venv-crowdkit/bin/python)")
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=200)
    ap.add_argument("--overlap", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-data", help=argparse.SUPPRESS)  # internal: the child process that writes the files
    ap.add_argument("--only", help="comma-separated command names to run (default: all)")
    ap.add_argument("--before", metavar="PYTHON", help="also time the workbench commands of this venv's python "
                    "(e.g. /work/main/.venv/bin/python), interleaved, as rows 'before: ...'")
    ap.add_argument("--data", metavar="DIR", help="the label and gold files in DIR (written there, and kept, "
                    "when DIR has none yet) instead of a temp dir")
    ap.add_argument("--cohen-units", type=int, default=100_000)
    ap.add_argument("--cohen-annotators", type=int, default=200)
    ap.add_argument("--cohen-repeats", type=int, default=1, help="0 skips the Cohen's kappa bootstrap")
    args = ap.parse_args(argv)
    if args.write_data:
        write_crowd(Path(args.write_data), args.tasks, args.workers, args.overlap, args.seed)
        return
    # this process stays small (stdlib only while it times): a child's peak RSS (ru_maxrss) starts
    # from its parent's at fork, so a parent holding the crowd would inflate every figure
    env = {**os.environ, "WORKBENCH_PROGRESS": "none"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is cached (in the temp dir) as an installed package has it
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as name:
        tmp = Path(name)
        env["WORKBENCH_HOME"] = str(tmp / "home")
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        where = Path(args.data) if args.data else tmp
        if not (where / "crowd.parquet").exists():
            where.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "benchmarks.bench_cli", "--write-data", str(where), "--tasks",
                            str(args.tasks), "--workers", str(args.workers), "--overlap", str(args.overlap),
                            "--seed", str(args.seed)], check=True, cwd=ROOT)
        data, gold = where / "crowd.parquet", where / "gold.parquet"
        rows = args.tasks * args.overlap
        print(f"label file: {rows:,} rows ({args.tasks:,} tasks x {args.overlap}, {args.workers} workers, "
              f"3 classes), {data.stat().st_size / 1e6:.1f} MB Parquet; gold: {SMALL_GOLD} units, or 1% "
              f"({args.tasks // 100:,} units); "
              f"{os.cpu_count()} cores; {args.repeats} runs each, interleaved")
        cmds = commands(args, data, gold, tmp)
        if args.only:
            keep = set(args.only.split(","))
            cmds = {k: v for k, v in cmds.items() if k in keep or k.removeprefix("before: ") in keep}
        for k, cmd in cmds.items():  # untimed: bytecode compiled and cached, files in the page cache
            run_once(cmd, env)
        print(f"load average before timing: {os.getloadavg()[0]:.1f}")
        times: dict[str, list[float]] = {k: [] for k in cmds}
        cpu: dict[str, list[float]] = {k: [] for k in cmds}
        peak: dict[str, float] = {k: 0.0 for k in cmds}
        for r in range(args.repeats):
            for k, cmd in cmds.items():
                took, used, mb = run_once(cmd, env)
                times[k].append(took)
                cpu[k].append(used)
                peak[k] = max(peak[k], mb)
        print(f"\n{'command':<28}{'best s':>9}{'median s':>10}{'cpu s':>8}{'peak MB':>9}{'goal s':>8}  vs crowd-kit")
        for k in cmds:
            best, med = min(times[k]), statistics.median(times[k])
            goal = GOALS.get(k)
            peer = "crowd-kit " + k.split(" ", 1)[1] if k.startswith("aggregate ") else None
            if k.startswith("before: ") and k[8:] in times:
                ratio = f"{statistics.median(times[k]) / statistics.median(times[k[8:]]):.2f}x the median now"
                print(f"{k:<28}{min(times[k]):>9.2f}{statistics.median(times[k]):>10.2f}{min(cpu[k]):>8.2f}"
                      f"{peak[k]:>9.0f}{'':>8}  {ratio}")
                continue
            ratio = ""
            if peer in times:
                ratio = f"{min(times[peer]) / best:.1f}x faster"
            mark = "" if goal is None else (f"{goal:>6.1f}{'' if best <= goal else ' MISSED'}")
            print(f"{k:<28}{best:>9.2f}{med:>10.2f}{min(cpu[k]):>8.2f}{peak[k]:>9.0f}{mark:>8}  {ratio}")
        print(f"load average after timing: {os.getloadavg()[0]:.1f}")
        for method, short in (("dawid_skene", "ds"), ("majority", "mv")):
            a, b = tmp / f"wb_{short}.parquet", tmp / f"ck_{short}.parquet"
            if a.exists() and b.exists():
                print(f"{method}: same label as crowd-kit on {same_labels(a, b):.4%} of tasks")
        if "aggregate dawid_skene" in times and "crowd-kit dawid_skene" in times:
            ratio = min(times["crowd-kit dawid_skene"]) / min(times["aggregate dawid_skene"])
            print(f"Dawid-Skene whole-process ratio {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x)")
    if args.cohen_repeats > 0:
        took, interval = bench_cohen(args)
        print(f"\nCohen's kappa bootstrap interval (1000 resamples), {args.cohen_units:,} units x "
              f"{args.cohen_annotators} annotators x 5 labels: {took:.2f} s, interval {interval}")


if __name__ == "__main__":
    main()
