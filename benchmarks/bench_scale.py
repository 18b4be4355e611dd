"""A million units on one machine: the whole pipeline on a generated news-like corpus (printed figures).

For each size (``--sizes 5,20,50``, megabytes of text; default 5) the benchmark writes a seeded
corpus of news-like articles (headline, dateline, paragraphs of sentences with names, figures,
money, percentages, quotes and abbreviations such as "U.S." and "Mr."), a campaign on the sentence
task type ``claims`` with overlap 3 and six simulated personas on the local backend, and runs every
step (plan, assign, push, simulate, pull, aggregate, agreement, export) in a fresh process. It
prints, per step, the wall time, the CPU time (the process and its segmentation workers; on a shared
machine wall time grows with the others' load, CPU time much less) and the peak resident memory
(RSS, sampled every 50 ms), then the
total, the process's peak RSS (``getrusage``), the store's size (database plus WAL), the exports'
size, the time of a no-op re-run (``workbench run SPEC`` again, as a user would, a new process
including the CLI's start-up and the campaign report) and of ``workbench status``.

    python -m benchmarks.bench_scale [--sizes 5,20,50] [--keep DIR] [--profile]

Targets (issue 14): 50 MB end to end in at most 3 minutes, peak memory at most 2 GB, the store at
most 600 MB, a no-op re-run in at most 10 s; time and memory growing linearly with the corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------
# the corpus
FIRST = ("Maria", "James", "Aiko", "Olusegun", "Elena", "Rahul", "Sofia", "Pierre", "Chen", "Fatima", "David",
         "Ingrid", "Carlos", "Amara", "Tomasz", "Leila", "Hiroshi", "Grace", "Mateo", "Nadia")
LAST = ("Garcia", "Okafor", "Schmidt", "Tanaka", "Novak", "Haddad", "Silva", "Kowalski", "Dubois", "Patel",
        "Johnson", "Moreau", "Lindqvist", "Mensah", "Rossi", "Kim", "Alvarez", "Petrov", "Nakamura", "Brennan")
TITLE = ("Mr.", "Ms.", "Dr.", "Prof.", "Sen.", "Gov.")
ORG = ("the central bank", "the European Commission", "the U.S. Treasury", "the health ministry",
       "Acme Corp.", "the city council", "the International Monetary Fund", "the World Health Organization",
       "Northwind Energy", "the transport authority", "the national statistics office", "Globex Inc.",
       "the teachers' union", "the U.N. refugee agency", "the finance committee", "Initech Ltd.")
PLACE = ("Berlin", "Lagos", "Sao Paulo", "Osaka", "Toronto", "Nairobi", "Warsaw", "Lyon", "Mumbai", "Denver",
         "Melbourne", "Seoul", "Cairo", "Lima", "Oslo", "Hanoi")
TOPIC = ("inflation", "unemployment", "housing prices", "wheat exports", "emissions", "the budget deficit",
         "hospital waiting times", "rail ridership", "tax revenue", "solar capacity", "school enrolment",
         "interest rates", "the trade surplus", "vaccination rates", "crime figures", "water usage")
MOVE = ("rose", "fell", "climbed", "dropped", "jumped", "slipped", "increased", "declined")
OPINION = ("a bold step", "a crucial moment", "a remarkable turnaround", "an essential reform",
           "a pivotal decision", "arguably the most significant change in years")
MONTH = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December")


def _name(r: random.Random) -> str:
    person = f"{r.choice(FIRST)} {r.choice(LAST)}"
    return f"{r.choice(TITLE)} {person.split()[1]}" if r.random() < 0.3 else person


def _figure(r: random.Random) -> str:
    k = r.random()
    if k < 0.3:
        return f"{r.uniform(0.1, 19.9):.1f}%"
    if k < 0.55:
        return f"${r.randint(2, 950)} million"
    if k < 0.7:
        return f"{r.uniform(1, 40):.1f} billion euros"
    return f"{r.randint(2, 99_000):,}"


def sentence(r: random.Random) -> str:
    """One news-like sentence (a claim, a reported fact, a hedge, an opinion, a question, a quote)."""
    k = r.randrange(10)
    if k == 0:
        return (f"{r.choice(TOPIC).capitalize()} {r.choice(MOVE)} to {_figure(r)} in {r.choice(MONTH)}, "
                f"according to {r.choice(ORG)}.")
    if k == 1:
        return f"{_name(r)} said {r.choice(ORG)} had spent {_figure(r)} on the programme since {r.randint(1990, 2025)}."
    if k == 2:
        return (f"The decision could affect {_figure(r)} residents of {r.choice(PLACE)}, officials said on "
                f"{r.choice(('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'))}.")
    if k == 3:
        return f"Critics called it {r.choice(OPINION)}, though few expect {r.choice(TOPIC)} to change quickly."
    if k == 4:
        return f"Will {r.choice(ORG)} act before {r.choice(TOPIC)} becomes a problem in {r.choice(PLACE)}?"
    if k == 5:
        return (f"\"We are watching {r.choice(TOPIC)} closely,\" {_name(r)} told reporters in {r.choice(PLACE)}, "
                f"adding that a review was under way.")
    if k == 6:
        return f"{r.choice(ORG).capitalize()} reportedly plans to announce new measures by the end of the year."
    if k == 7:
        return f"The meeting in {r.choice(PLACE)} lasted {r.randint(2, 9)} hours and ended without a vote."
    if k == 8:
        return (f"{_name(r)}, who leads the {r.choice(('regional', 'national', 'local'))} office, has worked "
                f"on {r.choice(TOPIC)} for {r.randint(3, 30)} years.")
    return f"Last year {r.choice(TOPIC)} {r.choice(MOVE)} by {_figure(r)} in {r.choice(PLACE)}."


def article(r: random.Random) -> str:
    lines = [f"{r.choice(TOPIC).capitalize()} {r.choice(MOVE)} in {r.choice(PLACE)}",
             f"{r.choice(PLACE).upper()}, {r.choice(MONTH)} {r.randint(1, 28)} -- "
             + " ".join(sentence(r) for _ in range(r.randint(1, 3)))]
    for _ in range(r.randint(4, 12)):
        if r.random() < 0.12:
            lines.append(f"{r.choice(('Reaction', 'What comes next', 'Background', 'The numbers'))}")
        lines.append(" ".join(sentence(r) for _ in range(r.randint(1, 6))))
    return "\n\n".join(lines) + "\n"


def write_corpus(folder: Path, megabytes: float, seed: int = 14, per_file: int = 200_000) -> dict:
    """Articles (seeded) grouped into files of about ``per_file`` bytes until ``megabytes`` are written."""
    r = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    target, total, n_files = int(megabytes * 1_000_000), 0, 0
    while total < target:
        parts, size = [], 0
        while size < min(per_file, target - total):
            a = article(r)
            parts.append(a)
            size += len(a.encode())
        text = "\n".join(parts)
        (folder / f"news_{n_files:05d}.txt").write_text(text, "utf-8")
        total += len(text.encode())
        n_files += 1
    return {"bytes": total, "files": n_files}


SPEC = """\
name = "scale"
task_type = "claims"
documents = "corpus/*.txt"
seed = 2026
overlap = 3

[[annotators]]
id = "ana"
persona = "expert"

[[annotators]]
id = "ben"
persona = "careful"

[[annotators]]
id = "chloe"
persona = "careful"

[[annotators]]
id = "dev"
persona = "hasty"

[[annotators]]
id = "eli"
persona = "biased"
lean = "check-worthy"

[[annotators]]
id = "sam"
persona = "spammer"

[backend]
name = "local"

[aggregate]
method = "auto"

[export]
formats = ["jsonl", "csv", "parquet", "hf"]
dir = "exports"
split = { train = 0.8, dev = 0.1, test = 0.1 }
"""


# ---------------------------------------------------------------------------------------------
# measuring
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler:
    """The peak RSS since the last ``reset()``, sampled every ``every`` seconds on a thread."""

    def __init__(self, every: float = 0.05):
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss())

    def reset(self) -> None:
        self.peak = _rss()

    def stop(self) -> None:
        self._stop.set()


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the segmentation workers): on a shared
    machine the wall time grows with the other processes' load, the CPU time much less."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def child(work: Path, profile: bool) -> None:
    """Runs in the measured process: every step in turn, one JSON line of figures on stdout."""
    from workbench.campaign import Campaign
    from workbench.cli.progress import Lines
    from workbench.spec import load_spec
    from workbench.store import Store

    home = work / "home"
    store = Store(home)
    sampler = Sampler()
    c = Campaign(load_spec(str(work / "scale.toml")), store, progress=Lines(after=10, every=30))
    steps: dict[str, dict] = {}
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()

    @contextlib.contextmanager
    def timed(desc: str):
        step = desc.rsplit(": ", 1)[-1]
        sampler.reset()
        start, cpu = time.perf_counter(), _cpu()
        if prof:
            prof.enable()
        try:
            yield
        finally:
            if prof:
                prof.disable()
            took = time.perf_counter() - start
            peak = max(sampler.peak, _rss())
            used = _cpu() - cpu
            steps[step] = {"seconds": round(took, 2), "cpu": round(used, 2), "peak_rss": peak}
            print(f"  {step}: {took:.1f} s ({used:.1f} s CPU), peak RSS {peak / 1e6:.0f} MB", file=sys.stderr,
                  flush=True)

    # the engine's whole run (``workbench run``), each step timed (it records what a re-run compares)
    results = c.run("export", around=timed)
    steps["plan"]["units"] = results["plan"]["units"]
    sampler.stop()
    if prof:
        prof.dump_stats(str(work / "profile.out"))
    print(json.dumps({"steps": steps, "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def measure(megabytes: float, work: Path, profile: bool) -> dict:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    corpus = write_corpus(work / "corpus", megabytes)
    gen = time.perf_counter() - t0
    (work / "scale.toml").write_text(SPEC, "utf-8")
    env = dict(os.environ, WORKBENCH_HOME=str(work / "home"), PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "--child", str(work)]
                          + (["--profile"] if profile else []), env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the pipeline failed on {megabytes} MB (exit {proc.returncode})")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    db = work / "home" / "workbench.db"
    store_bytes = sum(_size(p) for p in db.parent.glob(db.name + "*")) if db.exists() else _size(work / "home")
    wb = Path(sys.executable).parent / "workbench"
    cpu = _cpu()
    start = time.perf_counter()
    rerun = subprocess.run([str(wb), "run", str(work / "scale.toml")], env=env, cwd=work,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    noop = time.perf_counter() - start
    noop_cpu = _cpu() - cpu
    if rerun.returncode != 0:
        raise SystemExit(f"the no-op re-run failed: {rerun.stderr.strip()[-500:]}")
    cpu = _cpu()
    start = time.perf_counter()
    shown = subprocess.run([str(wb), "status", "scale"], env=env, cwd=work, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    status_s, status_cpu = time.perf_counter() - start, _cpu() - cpu
    if shown.returncode != 0:
        raise SystemExit(f"`workbench status` failed: {shown.stderr.strip()[-500:]}")
    return {"mb": megabytes, "bytes": corpus["bytes"], "files": corpus["files"], "generate": gen, "total": total,
            **figures, "store": store_bytes, "exports": _size(work / "exports"), "noop": noop,
            "noop_cpu": noop_cpu, "status": status_s, "status_cpu": status_cpu, "load": os.getloadavg()[0]}


def report(rows: list[dict]) -> None:
    from workbench.steps import STEPS

    head = f"{'':<12}" + "".join(f"{r['mb']:>9g} MB" for r in rows)
    print(head)
    print(f"{'units':<12}" + "".join(f"{r['steps']['plan']['units']:>12,}" for r in rows))
    for step in STEPS:
        print(f"{step:<12}" + "".join(f"{r['steps'][step]['seconds']:>10.1f} s" for r in rows))
    print(f"{'total':<12}" + "".join(f"{r['total']:>10.1f} s" for r in rows) + "   (target 50 MB: 180 s)")
    for step in STEPS:
        print(f"{'CPU ' + step:<12}" + "".join(f"{r['steps'][step]['cpu']:>10.1f} s" for r in rows))
    print(f"{'CPU total':<12}" + "".join(f"{sum(x['cpu'] for x in r['steps'].values()):>10.1f} s" for r in rows))
    for step in STEPS:
        print(f"{'RSS ' + step:<12}" + "".join(f"{r['steps'][step]['peak_rss'] / 1e6:>9.0f} MB" for r in rows))
    print(f"{'peak RSS':<12}" + "".join(f"{r['ru_maxrss'] / 1e6:>9.0f} MB" for r in rows) + "   (target 2000 MB)")
    print(f"{'store':<12}" + "".join(f"{r['store'] / 1e6:>9.0f} MB" for r in rows) + "   (target 50 MB: 600 MB)")
    print(f"{'exports':<12}" + "".join(f"{r['exports'] / 1e6:>9.0f} MB" for r in rows))
    print(f"{'no-op rerun':<12}" + "".join(f"{r['noop']:>10.1f} s" for r in rows) + "   (target 10 s)")
    print(f"{'no-op CPU':<12}" + "".join(f"{r['noop_cpu']:>10.1f} s" for r in rows))
    print(f"{'status':<12}" + "".join(f"{r['status']:>10.1f} s" for r in rows) + "   (`workbench status`)")
    print(f"{'status CPU':<12}" + "".join(f"{r['status_cpu']:>10.1f} s" for r in rows))
    print(f"{'load avg':<12}" + "".join(f"{r['load']:>12.1f}" for r in rows) + "   (1-minute load at the end; 2 cores)")
    if len(rows) > 1:
        base = rows[0]
        print(f"{'per MB':<12}" + "".join(f"{r['total'] / r['mb']:>8.2f} s/MB" for r in rows))
        print(f"{'growth':<12}" + "".join(f"{r['total'] / base['total']:>10.2f} x" for r in rows)
              + "   (size " + " / ".join(f"{r['mb'] / base['mb']:g}" for r in rows) + " x)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5", help="corpus sizes in MB, comma-separated (default 5; try 5,20,50)")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    ap.add_argument("--profile", action="store_true", help="cProfile the steps into WORK/profile.out")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(Path(args.child), args.profile)
        return
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    try:
        for mb in sizes:
            print(f"{mb:g} MB:", file=sys.stderr, flush=True)
            rows.append(measure(mb, base / f"{mb:g}mb", args.profile))
            r = rows[-1]
            print(f"  total {r['total']:.1f} s, peak RSS {r['ru_maxrss'] / 1e6:.0f} MB, store {r['store'] / 1e6:.0f} MB, "
                  f"no-op re-run {r['noop']:.1f} s", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report(rows)


if __name__ == "__main__":
    main()
