"""A team on one managed Label Studio: 20 and 50 annotators at once, dev server vs app server.

Each annotator is a real Label Studio account (signed up through the organization's invitation, as
a person does) working in its own thread as a person's labeling stream does: ``GET
/api/projects/{id}/next/``, then ``POST /api/tasks/{id}/annotations/`` with its answer, again and
again until ``/next/`` says there is nothing left (404). No think time: the server is the subject.
A project of ``--tasks`` tasks with ``maximum_annotations = --overlap`` is labeled to the end by
each crowd, so every run must end with every task at exactly its planned overlap.

Shapes, side by side in one run, each in a temp home on 127.0.0.1 (loopback only):

- ``dev-sqlite``: today's ``workbench server start`` (``label-studio start``: Django's development
  server) on SQLite;
- ``app-postgresql``: ``workbench server start --workers N`` (gunicorn, N worker processes) on a
  fresh PostgreSQL database;
- ``app-sqlite``: the same app server on SQLite.

Printed per shape and crowd size: answers/s, p50/p95 latency of one answer (``/next/`` + save),
server errors (HTTP 5xx seen by annotators; "database is locked" lines in the server log), and what
the project holds afterwards: lost (tasks below the planned overlap), extra (above it), duplicated
(one annotator twice on a task); plus CPU milliseconds per answer of the server's processes, of
PostgreSQL and of this load generator (where the limit is on a small machine).

PostgreSQL: ``--postgres DSN`` (a role that may create databases), else
``$WORKBENCH_TEST_POSTGRES_DSN``, else a throwaway cluster of its own on a free loopback port, started
from the machine's server binaries (:mod:`benchmarks.postgres`, as the tests do); with none of these
the benchmark skips in one line (unless ``--shapes`` leaves the PostgreSQL shape out). ``make bench``
runs it (BENCH_TEAM_ARGS passes options), and ``make bench-team`` alone.
Usage: ``python -m benchmarks.bench_team [--postgres DSN] [--annotators 20,50] [--tasks 200]
[--overlap 3] [--workers 5] [--shapes dev-sqlite,app-postgresql,app-sqlite]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from workbench.backends.labelstudio.accounts import browser, session_token, sign_up
from workbench.backends.labelstudio.accounts import invite_token as org_invite_token
from workbench.backends.labelstudio.client import LabelStudioAPI
from workbench.backends.labelstudio.server import ManagedServer

from . import postgres

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
          '<Choice value="check-worthy"/><Choice value="unimportant"/><Choice value="non-factual"/></Choices></View>')
LABELS = ("check-worthy", "unimportant", "non-factual")
RUN_LIMIT = 1800.0  # seconds a crowd may take before its annotators stop (bounded load, whatever happens)
SHAPES = ("dev-sqlite", "app-postgresql", "app-sqlite")
MAX_WAITS = 240  # an annotator told "nothing for you" asks again at most this often (every 0.5 s)


def _cpu(match) -> float:
    """CPU seconds (user + system, with reaped children) of every process ``match(pid, ppid, pgrp)`` takes."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if match(int(stat.parent.name), int(fields[1]), int(fields[2])):  # after the name: state ppid pgrp
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def cpu_of_group(pgid: int) -> float:
    """CPU seconds of every process in group ``pgid`` (the managed server: its master and workers)."""
    return _cpu(lambda pid, ppid, pgrp: pgrp == pgid)


def postgres_cpu(dsn: str | None) -> float | None:
    """CPU seconds of the PostgreSQL server's processes (its postmaster's group), None when unknown."""
    if not dsn:
        return None
    try:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        # each backend is its own process group (PostgreSQL calls setsid): the postmaster's children
        return _cpu(lambda pid, ppid, pgrp: postmaster in (pid, ppid))
    except Exception:  # not a superuser, another machine's server, no /proc: not measured
        return None


class Shape:
    def __init__(self, name: str, root: Path, server_dsn: str | None, workers: int):
        self.name, self.workers = name, workers
        self.home = root / name
        self.dsn: str | None = None
        self.server_dsn = server_dsn
        if name.endswith("postgresql"):
            import psycopg

            db = f"wb_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(server_dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            self.dsn = urlunsplit(urlsplit(server_dsn)._replace(path=f"/{db}"))
        self.server = ManagedServer(self.home)

    def start(self) -> tuple[str, str]:
        st = self.server.start(database=self.dsn or "sqlite", workers=self.workers if name_is_app(self.name) else 0)
        return st["url"], self.server.token()

    def close(self) -> None:
        self.server.stop()
        if self.dsn:
            import psycopg

            db = urlsplit(self.dsn).path.strip("/")
            with psycopg.connect(self.server_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def name_is_app(name: str) -> bool:
    return name.startswith("app-")


def make_annotators(url: str, admin: LabelStudioAPI, n: int) -> list[str]:
    """``n`` real accounts signed up through the invitation link; their API tokens."""
    token = org_invite_token(admin)
    tokens, batch = [], uuid.uuid4().hex[:6]
    for i in range(n):
        with browser(url) as session:
            if not sign_up(session, f"annotator{i:03d}.{batch}@team.bench.local", f"pw-{uuid.uuid4().hex}", token):
                raise SystemExit(f"bench_team: could not sign up annotator {i} at {url}")
            tokens.append(session_token(session))
    return tokens


def make_project(admin: LabelStudioAPI, tasks: int, overlap: int, title: str) -> int:
    project = admin.post("/api/projects", {"title": title, "label_config": CONFIG, "maximum_annotations": overlap},
                         what="creating the project")
    words = "the company said revenue rose percent in march while analysts expected growth".split()
    data = [{"text": f"{i}: " + " ".join(words[(i + k) % len(words)] for k in range(12))} for i in range(tasks)]
    admin.post(f"/api/projects/{project['id']}/import", data, what="importing tasks")
    return project["id"]


def crowd(url: str, tokens: list[str], project: int, budget: int) -> dict:
    """Every annotator in its own thread until ``/next/`` is empty; latencies and errors."""
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + RUN_LIMIT
    in_flight = [0]  # annotators between a task from /next/ and its save

    def person(i: int, token: str) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=300) as c:
            waits = 0
            for n in range(budget):  # bounded: never more asks than there are answers in the project
                if time.monotonic() > deadline:
                    with lock:
                        errors["stopped at the time limit"] += 1
                    return
                t = time.perf_counter()
                try:
                    r = c.get(f"/api/projects/{project}/next/")
                    if r.status_code == 404:
                        # nothing for me now; a task someone else holds may still come back (a person
                        # reloads later): wait while anyone works, stop when nobody does
                        with lock:
                            if in_flight[0] == 0 or waits >= MAX_WAITS:
                                return
                            errors["waited on 404 while others worked"] += 1
                        waits += 1
                        time.sleep(0.5)
                        continue
                    if r.status_code != 200:
                        with lock:
                            errors[f"/next/ HTTP {r.status_code}"] += 1
                        time.sleep(0.2)
                        continue
                    task = r.json()["id"]
                    with lock:
                        in_flight[0] += 1
                    result = [{"from_name": "label", "to_name": "text", "type": "choices",
                               "value": {"choices": [LABELS[(task + i) % 3]]}}]
                    try:
                        s = c.post(f"/api/tasks/{task}/annotations/", params={"project": project},
                                   json={"result": result, "lead_time": 3.0, "project": project})
                    finally:
                        with lock:
                            in_flight[0] -= 1
                except httpx.HTTPError as exc:
                    with lock:
                        errors[f"{type(exc).__name__}"] += 1
                    time.sleep(0.2)
                    continue
                took = time.perf_counter() - t
                with lock:
                    if s.status_code == 201:
                        latencies.append(took)
                    else:
                        errors[f"save HTTP {s.status_code}"] += 1

    threads = [threading.Thread(target=person, args=(i, tok), daemon=True) for i, tok in enumerate(tokens)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "errors": errors}


def outcome(admin: LabelStudioAPI, project: int, overlap: int) -> dict:
    """What the project holds: tasks below / above the planned overlap, an annotator twice on a task."""
    tasks = admin.get(f"/api/projects/{project}/export", params={"exportType": "JSON"}, what="exporting")
    counts = [len(t["annotations"]) for t in tasks]
    dup = sum(sum(v - 1 for v in Counter(a["completed_by"] for a in t["annotations"]).values()) for t in tasks)
    return {"tasks": len(tasks), "answers": sum(counts), "lost": sum(1 for c in counts if c < overlap),
            "extra": sum(1 for c in counts if c > overlap), "duplicated": dup}


def log_counts(log: Path, offset: int) -> dict:
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    return {"locked": text.count("database is locked"), "locks_overlap": text.count("locks > overlap")}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def run_shape(shape: Shape, sizes: list[int], tasks: int, overlap: int) -> list[dict]:
    t = time.perf_counter()
    url, token = shape.start()
    print(f"  {shape.name}: started in {time.perf_counter() - t:.0f} s at {url}", flush=True)
    admin = LabelStudioAPI(url, token, key_source="the admin token")
    tokens = make_annotators(url, admin, max(sizes))
    rows = []
    for size in sizes:
        project = make_project(admin, tasks, overlap, f"team {size}")
        offset = shape.server.log_file.stat().st_size
        pgid = shape.server.status()["pid"]
        cpu0, pg0, me0 = cpu_of_group(pgid), postgres_cpu(shape.server_dsn if shape.dsn else None), time.process_time()
        run = crowd(url, tokens[:size], project, budget=tasks * overlap + 10)
        cpu1, pg1, me1 = cpu_of_group(pgid), postgres_cpu(shape.server_dsn if shape.dsn else None), time.process_time()
        got = outcome(admin, project, overlap)
        logs = log_counts(shape.server.log_file, offset)
        lat = run["latencies"]
        n = max(1, len(lat))
        row = {"shape": shape.name, "annotators": size, "answers": len(lat), "seconds": run["seconds"],
               "rate": len(lat) / run["seconds"], "p50": pct(lat, 50), "p95": pct(lat, 95),
               "http_errors": sum(v for k, v in run["errors"].items() if "HTTP 5" in k),
               "waits": run["errors"].pop("waited on 404 while others worked", 0),
               "other_errors": {k: v for k, v in run["errors"].items() if "HTTP 5" not in k},
               "server_ms": 1000 * (cpu1 - cpu0) / n,
               "pg_ms": 1000 * (pg1 - pg0) / n if pg0 is not None and pg1 is not None else None,
               "client_ms": 1000 * (me1 - me0) / n, **got, **logs}
        rows.append(row)
        print(f"    {size} annotators: {row['answers']} answers in {row['seconds']:.0f} s = {row['rate']:.1f}/s, "
              f"p50 {row['p50'] * 1000:.0f} ms, p95 {row['p95'] * 1000:.0f} ms, 5xx {row['http_errors']}, "
              f"locked {row['locked']}, 404-waits {row['waits']}, lost {row['lost']}, extra {row['extra']}, dup {row['duplicated']}"
              + (f", other {row['other_errors']}" if row["other_errors"] else ""), flush=True)
    admin.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--postgres", metavar="DSN", default=os.environ.get("WORKBENCH_TEST_POSTGRES_DSN"),
                    help="PostgreSQL server (a role that may create databases); default $WORKBENCH_TEST_POSTGRES_DSN")
    ap.add_argument("--annotators", default="20,50", help="crowd sizes, comma-separated (default 20,50)")
    ap.add_argument("--tasks", type=int, default=200, help="tasks per project (default 200)")
    ap.add_argument("--overlap", type=int, default=3, help="answers planned per task (default 3)")
    ap.add_argument("--workers", type=int, default=5, help="app server worker processes (default 5: 2 x cores + 1)")
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"which of {', '.join(SHAPES)} (default: all)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.annotators.split(",") if s.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not sizes or min(sizes) < 1 or args.tasks < 1 or args.overlap < 1 or args.workers < 1:
        print(f"bench_team: --shapes expects some of {', '.join(SHAPES)}, --annotators/--tasks/--overlap/--workers "
              f"positive numbers; got shapes {unknown or shapes}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        if "app-postgresql" in shapes and not args.postgres:
            try:  # a cluster of our own, on loopback, removed afterwards
                args.postgres = stack.enter_context(postgres.throwaway_cluster())
            except FileNotFoundError as exc:
                print(f"bench_team: skipped: no --postgres DSN or $WORKBENCH_TEST_POSTGRES_DSN, and {exc} "
                      "(--shapes dev-sqlite,app-sqlite runs without one)")
                return 0
            print(f"bench_team: a throwaway PostgreSQL cluster at {args.postgres}", flush=True)
        return _run(args, sizes, shapes)


def _run(args: argparse.Namespace, sizes: list[int], shapes: list[str]) -> int:
    print(f"team benchmark: {args.tasks} tasks x overlap {args.overlap} = {args.tasks * args.overlap} answers per "
          f"crowd; crowds of {', '.join(map(str, sizes))}; app server workers {args.workers}; {os.cpu_count()} cores")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="wb-team-bench-") as tmp:
        for name in shapes:
            shape = Shape(name, Path(tmp), args.postgres, args.workers)
            try:
                rows += run_shape(shape, sizes, args.tasks, args.overlap)
            finally:
                shape.close()
    report(rows, args.overlap)
    return 0


def report(rows: list[dict], overlap: int) -> None:
    print("\nshape            crowd  answers/s  ratio   p50 ms  p95 ms  5xx  locked  lost extra dup  "
          "CPU ms/answer: server  postgres  client")
    base = {r["annotators"]: r["rate"] for r in rows if r["shape"] == "dev-sqlite"}
    for r in rows:
        ratio = f"{r['rate'] / base[r['annotators']]:5.1f}x" if r["annotators"] in base else "    - "
        pg = f"{r['pg_ms']:8.0f}" if r["pg_ms"] is not None else "       -"
        print(f"{r['shape']:<16} {r['annotators']:>5}  {r['rate']:9.1f}  {ratio}  {r['p50'] * 1000:6.0f}  "
              f"{r['p95'] * 1000:6.0f}  {r['http_errors']:3d}  {r['locked']:6d}  {r['lost']:4d} {r['extra']:5d} "
              f"{r['duplicated']:3d}  {r['server_ms']:21.0f}  {pg}  {r['client_ms']:6.0f}")
    bad = [r for r in rows if r["lost"] or r["extra"] or r["duplicated"] or r["answers"] != r["tasks"] * overlap]
    print("every task at its planned overlap in every run" if not bad else
          "NOT at planned overlap: " + ", ".join(f"{r['shape']}/{r['annotators']}" for r in bad))


if __name__ == "__main__":
    sys.exit(main())
