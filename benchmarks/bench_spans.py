"""Span aggregation benchmark: the token vote (``spans``) against span Dawid-Skene (``span_dawid_skene``).

Usage::

    python -m benchmarks.bench_spans                       # simulated crowds + the sample campaign
    python -m benchmarks.bench_spans --sizes 500,2000 --campaign-seeds 2026

1. Simulated span crowds (:mod:`benchmarks.span_crowd`) at a few sizes: a *biased* crowd
   (annotators who cut spans short or run them long, swap entity types, miss entities, spammers)
   and a *clean* one (good annotators only). Printed per size and method: span F1 against the
   known truth (exact spans, micro over spans, the campaign's held-out gold measure) and seconds
   (the fastest of ``--repeats`` calls; the aggregation call only).
2. Span scores: per band of score, the share of output spans that are exactly right.
3. Small crowds (10-60 units, 3-6 annotators: a few sentences per annotator), mean F1 over
   ``--small-seeds`` seeded crowds and how often span Dawid-Skene is behind the vote.
4. The sample text campaign (``tasks/campaigns/text.toml``) on the local backend, once per seed of
   ``--campaign-seeds`` (the seed changes who labels what and the simulated annotators' answers;
   the gold stays the hand-written one): span F1 of each method on the held-out gold units (gold
   never shown as gold: honeypots are clamped by span Dawid-Skene, so they are not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.span_crowd import make_span_crowd, span_f1
from benchmarks.timing import best_of

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("spans", "span_dawid_skene")
BIASED = {"short": 0.2, "long": 0.15, "confuser": 0.15, "misser": 0.1, "spammer": 0.1}


def simulated(sizes: list[int], repeats: int, min_time: float, seed: int) -> list[dict]:
    from workbench.registry import get_registry

    registry = get_registry()
    rows = []
    for crowd_name, roles in (("biased", BIASED), ("clean", {})):
        for n in sizes if crowd_name == "biased" else sizes[:1]:
            crowd = make_span_crowd(n, n_annotators=max(12, n // 100), overlap=3, roles=roles, seed=seed)
            for method in METHODS:
                agg = registry.get("aggregators", method)
                seconds, res = best_of(repeats, lambda: agg.func(crowd.table, crowd.schema, units=crowd.units),
                                       min_time=min_time)
                labels = dict(zip(res.labels["unit"], res.labels["label"]))
                rows.append({"crowd": crowd_name, "units": n, "annotations": len(crowd.table), "method": method,
                             "f1": span_f1(labels, crowd.truth), "seconds": seconds})
    return rows


SMALL = ((10, 3), (10, 6), (30, 6), (60, 6))  # (units, annotators) of the small crowds


def small(seeds: int) -> list[dict]:
    """Small crowds (a few sentences per annotator), F1 averaged over ``seeds`` seeded crowds."""
    from workbench.aggregate.spands import span_dawid_skene
    from workbench.aggregate.tokenvote import span_vote

    rows = []
    for n, annotators in SMALL:
        for crowd_name, roles in (("clean", {}), ("biased", BIASED)):
            vote, ds = [], []
            for seed in range(seeds):
                crowd = make_span_crowd(n, n_annotators=annotators, overlap=3, roles=roles, seed=seed)
                for fn, out in ((span_vote, vote), (span_dawid_skene, ds)):
                    res = fn(crowd.table, crowd.schema, units=crowd.units)
                    out.append(span_f1(dict(zip(res.labels["unit"], res.labels["label"])), crowd.truth))
            rows.append({"crowd": crowd_name, "units": n, "annotators": annotators, "seeds": seeds,
                         "spans": sum(vote) / seeds, "span_dawid_skene": sum(ds) / seeds,
                         "worse": sum(d < v for d, v in zip(ds, vote))})
    return rows


BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def calibration(n: int, seed: int) -> list[dict]:
    """Per band of span score: how many output spans and the share exactly right (biased crowd)."""
    from workbench.aggregate.spands import span_dawid_skene

    crowd = make_span_crowd(n, n_annotators=max(12, n // 100), overlap=3, roles=BIASED, seed=seed)
    res = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    scores, right = [], []
    for u, spans, sc in res.labels[["unit", "label", "span_scores"]].itertuples(index=False):
        scores += list(sc)
        right += [s in crowd.truth[u] for s in spans]
    rows = []
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        pick = [r for x, r in zip(scores, right) if lo <= x < hi or (hi == 1.0 and x == 1.0)]
        mean = [x for x in scores if lo <= x < hi or (hi == 1.0 and x == 1.0)]
        rows.append({"band": f"{lo:.2f}-{hi:.2f}", "spans": len(pick),
                     "mean_score": sum(mean) / len(mean) if mean else None,
                     "precision": sum(pick) / len(pick) if pick else None})
    return rows


def campaign(seeds: list[int]) -> list[dict]:
    """The sample text campaign, locally, once per seed; held-out gold span F1 of each method."""
    exe = str(Path(sys.executable).with_name("workbench"))
    spec = (ROOT / "tasks" / "campaigns" / "text.toml").read_text()
    spec = spec.replace("../", str(ROOT / "tasks") + "/")
    spec = re.sub(r'(?m)^name = "labelstudio"', 'name = "local"', spec)
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as home:
            path = Path(home) / "text.toml"
            path.write_text(re.sub(r"(?m)^seed = \d+", f"seed = {seed}", spec))
            env = {**os.environ, "WORKBENCH_HOME": home}
            subprocess.run([exe, "-q", "run", str(path), "--until", "pull"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            row: dict = {"seed": seed}
            for method in METHODS:
                out = subprocess.run([exe, "-q", "aggregate", "text-demo", "--method", method, "--json"],
                                     check=True, env=env, capture_output=True, text=True).stdout
                held = json.loads(out)["accuracy_held_out_gold"]
                row["held_out_units"] = held["n"]
                row[method] = held["accuracy"]
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="500,2000,10000", help="units of the simulated crowds (comma-separated)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--campaign-seeds", default="2026,1,2,3,4",
                    help="seeds of the sample text campaign runs (comma-separated; empty: skip it)")
    ap.add_argument("--small-seeds", type=int, default=8, help="seeded crowds per small-crowd setting (0: skip)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    sim = simulated(sizes, args.repeats, args.min_time, args.seed)
    print("## Simulated span crowds (3 annotators per unit; F1 = exact-span micro F1 against the truth)\n")
    print("| crowd | units | annotations | spans F1 | span_dawid_skene F1 | spans s | span_dawid_skene s | time ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i in range(0, len(sim), 2):
        v, d = sim[i], sim[i + 1]
        print(f"| {v['crowd']} | {v['units']} | {v['annotations']} | {v['f1']:.3f} | {d['f1']:.3f} | "
              f"{v['seconds']:.3f} | {d['seconds']:.3f} | {d['seconds'] / v['seconds']:.1f}x |")
    cal = calibration(max(sizes), args.seed + 21)
    print(f"\n## Span scores (biased crowd, {max(sizes)} units): share of output spans exactly right per score band\n")
    print("| score | spans | mean score | exactly right |")
    print("| --- | ---: | ---: | ---: |")
    for r in cal:
        if r["spans"]:
            print(f"| {r['band']} | {r['spans']} | {r['mean_score']:.3f} | {r['precision']:.3f} |")
    few = small(args.small_seeds) if args.small_seeds > 0 else []
    if few:
        print(f"\n## Small crowds (3 annotators per unit; mean F1 over {args.small_seeds} seeds)\n")
        print("| crowd | units | annotators | spans F1 | span_dawid_skene F1 | seeds where it is behind |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in few:
            print(f"| {r['crowd']} | {r['units']} | {r['annotators']} | {r['spans']:.3f} | "
                  f"{r['span_dawid_skene']:.3f} | {r['worse']} of {r['seeds']} |")
    seeds = [int(x) for x in args.campaign_seeds.split(",") if x.strip()]
    camp = campaign(seeds) if seeds else []
    if camp:
        print("\n## Sample text campaign (local backend; span F1 on the held-out gold units)\n")
        print("| seed | held-out units | spans F1 | span_dawid_skene F1 |")
        print("| ---: | ---: | ---: | ---: |")
        for r in camp:
            print(f"| {r['seed']} | {r['held_out_units']} | {r['spans']:.3f} | {r['span_dawid_skene']:.3f} |")
        mean = {m: sum(r[m] for r in camp) / len(camp) for m in METHODS}
        wins = sum(r["span_dawid_skene"] > r["spans"] for r in camp)
        print(f"| mean | | {mean['spans']:.3f} | {mean['span_dawid_skene']:.3f} |")
        print(f"\nspan_dawid_skene ahead on {wins} of {len(camp)} seeds")
    if args.json:
        Path(args.json).write_text(json.dumps({"simulated": sim, "calibration": cal, "small": few, "campaign": camp},
                                              indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
