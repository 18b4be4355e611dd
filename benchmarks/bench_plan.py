"""The plan step alone at scale (printed figures): segmentation, units, pre-labels and writing.

For each size (``--sizes 5,50``, megabytes; default 5) it writes bench_scale's seeded news-like
corpus and the same ``claims`` campaign, and runs only ``plan`` in a fresh process on a fresh home:
wall seconds, CPU seconds of the process ("main") and of its segmentation workers, the units and
the peak RSS (``getrusage``). Compare code versions by running it with each on ``PYTHONPATH``
alternately (and its plugins' folders: ``PYTHONPATH=OLD:OLD/plugins/claims``): the machine's load moves the
wall time far more than the CPU time.

    python -m benchmarks.bench_plan [--sizes 5,50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    from benchmarks.bench_scale import ROOT, SPEC, write_corpus
except ImportError:  # run as a script (the measured child): this tree after what PYTHONPATH names
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    from benchmarks.bench_scale import ROOT, SPEC, write_corpus


def child(work: Path) -> None:
    """Runs in the measured process: the plan, one JSON line of figures on stdout."""
    import workbench
    from workbench.campaign import Campaign
    from workbench.spec import load_spec
    from workbench.store import Store

    def cpu() -> tuple[float, float]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    c = Campaign(load_spec(str(work / "scale.toml")), Store(work / "home"))
    start, (main0, kids0) = time.perf_counter(), cpu()
    done = c.run("plan")
    wall, (main1, kids1) = time.perf_counter() - start, cpu()
    print(json.dumps({"wall": wall, "main": main1 - main0, "workers": kids1 - kids0, "units": done["plan"]["units"],
                      "code": str(Path(workbench.__file__).parent),
                      "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def measure(megabytes: float, work: Path) -> dict:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    write_corpus(work / "corpus", megabytes)
    (work / "scale.toml").write_text(SPEC, "utf-8")
    env = dict(os.environ, WORKBENCH_HOME=str(work / "home"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    # run as a script: the code on PYTHONPATH (another version's, say) comes before this tree's
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(work)], env=env, cwd=work,
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the plan failed on {megabytes} MB (exit {proc.returncode})")
    return {"mb": megabytes, **json.loads(proc.stdout.strip().splitlines()[-1]), "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5", help="corpus sizes in MB, comma-separated (default 5)")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(Path(args.child))
        return
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-plan-"))
    try:
        for mb in (float(s) for s in args.sizes.split(",") if s.strip()):
            r = measure(mb, base / f"{mb:g}mb")
            print(f"{mb:g} MB: {r['units']:,} units, plan {r['wall']:.1f} s wall, {r['main'] + r['workers']:.1f} s CPU "
                  f"(main {r['main']:.1f}, workers {r['workers']:.1f}), peak RSS {r['maxrss'] / 1e6:.0f} MB, "
                  f"load {r['load']:.1f} ({r['code']})", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
