"""Adaptive redundancy against fixed k: accuracy versus annotations spent (printed figures).

Each data set is *replayed*: for every unit, its answers are put in a seeded random order; fixed k
takes each unit's first k answers, and the adaptive policy starts with the first ``initial`` answers
and, round after round, draws the next answer ("one more annotator") for the units the policy picks.
The policy is :func:`workbench.redundancy.decide`, the function campaigns run, and the units' scores
come from :func:`workbench.aggregate.choose.aggregate_table` with the gold withheld, as in a
campaign, or, for ``target_by = "one_coin"``, from :func:`workbench.redundancy.one_coin_scores` as
the campaign step computes them. Accuracy is the aggregated label against the data set's truth
(majority vote and Dawid-Skene), over every unit. Every adaptive run is compared with fixed k = 5
*aggregated by the same method* (like with like); a last line per data set compares the best of
either side over the methods. ``--budgets`` adds runs capped by ``[redundancy] budget`` (annotations
per unit times the units) that give one more answer to at most ``per_round`` units per round, the
least certain first (``--per-round``, a share of the units; 1: breadth-first, every unit below target);
``--calibration`` runs them also with ``[redundancy] calibration`` (a share of the units given
``calibration_labels`` answers first, whatever their score). ``--one-coin-prior`` runs every ``one_coin`` policy with each
``[redundancy] one_coin_prior``; ``--ds-prior N`` also scores Dawid-Skene with its aggregate option ``prior = N``
as a method of its own, against its own k = 5. ``--disputed SHARE:WITH[:ORDER]`` runs the budgeted policies also with
``[redundancy] disputed_share = SHARE, disputed_with = WITH, disputed_order = ORDER`` (a share of each round's places first to the
units where Dawid-Skene and WITH, majority or one_coin, disagree; the units found by
:func:`workbench.steps.redundancy.disputes`, as the campaign step finds them).

Data: real crowd labels from ``../shared/crowd-data/`` beside the repository, or ``--data DIR``
(face, dog, duck; each skipped with a line when absent) and simulated crowds (``benchmarks/crowd.py``) generated with 10 answers per unit and
replayed the same way. ``--svg PATH`` draws the curves (matplotlib when installed, else a plain SVG).

Each row's difference from k = 5 is a mean over ``--seeds`` replay orders, printed with its standard
error (``se``, over the orders: each order feeds both sides). With 3 orders it is 0.004-0.012 on most of these
data sets' rows, larger than the 0.005 tolerance of the verdicts; 30 orders bring it to about 0.002 (0.006-0.009 on duck, 108 units).

    python -m benchmarks.bench_redundancy [--seeds 10] [--svg docs/img/redundancy.png]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.aggregate.choose import aggregate_table
from workbench.models import LabelKind, LabelSchema
from workbench.redundancy import COLUMNS, decide, one_coin_scores
from workbench.registry import get_registry
from workbench.spec.redundancy import RedundancySpec
from workbench.steps.redundancy import disputes, with_disputes

from benchmarks.crowd import make_crowd

#: the crowd data beside the repository (``../shared/crowd-data``, or beside the folder holding a
#: worktree: the nearest ``shared/crowd-data`` up the tree); ``--data DIR`` overrides it
CROWD_DATA = next((p / "shared" / "crowd-data" for p in Path(__file__).resolve().parents[2:]
                   if (p / "shared" / "crowd-data").is_dir()), Path(__file__).resolve().parents[2] / "shared" / "crowd-data")
REAL = ("face", "dog", "duck")
METHODS = ["majority", "dawid_skene"]  # --ds-prior adds "dawid_skene+priorN": Dawid-Skene with option prior = N


def method_options(name: str) -> tuple[str, dict]:
    """The aggregation method and options a benchmark method name stands for."""
    if "+prior" in name:
        base, strength = name.split("+prior")
        return base, {"prior": float(strength)}
    return name, {}


@dataclass
class DataSet:
    name: str
    labels: pd.DataFrame  # unit, annotator, label (str)
    truth: dict[str, str]
    schema: LabelSchema


def real(name: str, root: Path = CROWD_DATA) -> DataSet | None:
    lab, tru = root / f"{name}.labels.csv", root / f"{name}.truth.csv"
    if not lab.is_file() or not tru.is_file():
        return None
    labels = pd.read_csv(lab, dtype=str)
    truth = pd.read_csv(tru, dtype=str)
    labels = labels[labels["unit"].isin(set(truth["unit"]))]
    classes = tuple(sorted(set(labels["label"]) | set(truth["label"])))
    return DataSet(name, labels.reset_index(drop=True), dict(zip(truth["unit"], truth["label"])),
                   LabelSchema(LabelKind.SINGLE, classes))


def simulated(name: str, seed: int, n_tasks: int = 600, **kw) -> DataSet:
    c = make_crowd(n_tasks=n_tasks, overlap=10, seed=seed, **kw)
    table = c.table.rename(columns={"task": "unit", "worker": "annotator"}) if "task" in c.table.columns else c.table
    table = table.astype(str)
    truth = {str(k): str(v) for k, v in c.truth.items()}
    return DataSet(name, table[["unit", "annotator", "label"]], truth,
                   LabelSchema(LabelKind.SINGLE, tuple(sorted(set(table["label"]) | set(truth.values())))))


class Replay:
    """Each unit's real answers in a seeded random order; ``drawn[unit]`` is how many are used."""

    def __init__(self, data: DataSet, seed: int):
        rng = np.random.default_rng(seed)
        self.rows: dict[str, pd.DataFrame] = {}
        for unit, g in data.labels.groupby("unit", sort=True):
            self.rows[str(unit)] = g.iloc[rng.permutation(len(g))].reset_index(drop=True)
        self.drawn = {u: 0 for u in self.rows}

    def take(self, units, n: int = 1) -> None:
        for u in units:
            self.drawn[u] = min(self.drawn[u] + n, len(self.rows[u]))

    def table(self) -> pd.DataFrame:
        return pd.concat([g.iloc[:self.drawn[u]] for u, g in self.rows.items() if self.drawn[u]], ignore_index=True)

    def units(self, score: dict[str, float]) -> pd.DataFrame:
        """The table :func:`decide` reads (:data:`COLUMNS`): each unit's answers drawn, none open, its
        ``score`` (NaN when missing) and the answers it has left."""
        return pd.DataFrame([(u, self.drawn[u], 0, score.get(u, math.nan), len(g) - self.drawn[u])
                             for u, g in self.rows.items()], columns=COLUMNS)


def share_right(data: DataSet, got: dict[str, str]) -> float:
    """The share of ``data``'s units whose label in ``got`` is the truth (a unit missing from it is wrong)."""
    return float(np.mean([got.get(u) == t for u, t in data.truth.items()]))


def accuracy(data: DataSet, table: pd.DataFrame, method: str) -> float:
    base, options = method_options(method)
    res = aggregate_table(get_registry(), data.schema, table, base, **options)
    return share_right(data, dict(zip(res.labels["unit"].astype(str), res.labels["label"])))


def fixed_table(data: DataSet, seed: int, k: int) -> pd.DataFrame:
    """Each unit's first ``k`` answers in replay order ``seed``."""
    r = Replay(data, seed)
    r.take(list(r.rows), k)
    return r.table()


def fixed(data: DataSet, seed: int, k: int, method: str) -> tuple[float, int]:
    t = fixed_table(data, seed, k)
    return accuracy(data, t, method), len(t)


#: replays whose policy does not depend on the aggregation method (``one_coin``): (data, seed, policy) ->
#: the final table and the rounds, so that each method scores the same replay without running it again
_REPLAYS: dict[tuple[int, int, RedundancySpec], tuple[pd.DataFrame, int]] = {}


def campaign_scores(data: DataSet, policy: RedundancySpec, method: str, table: pd.DataFrame) -> dict[str, float]:
    """Each unit's score as the campaign step computes it: one-coin (``target_by = "one_coin"``), else the
    confidence of ``method`` fitted with no gold, as the engine judges units."""
    if policy.target_by == "one_coin":  # as workbench.steps.redundancy.scores
        return one_coin_scores(table, len(data.schema.labels), prior_answers=policy.one_coin_prior)
    base, options = method_options(method)
    res = aggregate_table(get_registry(), data.schema, table, base, **options)
    return dict(zip(res.labels["unit"].astype(str), res.labels["confidence"].astype(float)))


def drive(data: DataSet, seed: int, policy: RedundancySpec,
          scores: Callable[[pd.DataFrame], dict[str, float]]) -> tuple[pd.DataFrame, int]:
    """The answers ``policy`` draws on replay order ``seed``, and its rounds: from ``policy.initial`` answers
    per unit, each round :func:`decide` on the units' ``scores`` (of the answers so far) picks who gets one more."""
    r = Replay(data, seed)
    r.take(list(r.rows), policy.initial)
    rounds = 0
    while True:
        t = r.table()
        units = r.units(scores(t))
        if policy.disputed_share:  # as workbench.steps.redundancy.check
            units = with_disputes(units, disputes(get_registry(), data.schema, t, policy), policy.disputed_order)
        d = decide(units, policy)
        if not d.more:
            return t, rounds
        r.take(d.more)
        rounds += 1


def adaptive(data: DataSet, seed: int, policy: RedundancySpec, method: str) -> tuple[float, int, int]:
    """Accuracy, annotations and rounds of the campaign policy replayed on ``data``."""
    key = (id(data), seed, policy)
    if policy.target_by == "one_coin" and key in _REPLAYS:
        t, rounds = _REPLAYS[key]
        return accuracy(data, t, method), len(t), rounds
    t, rounds = drive(data, seed, policy, lambda t: campaign_scores(data, policy, method, t))
    if policy.target_by == "one_coin":
        _REPLAYS[key] = (t, rounds)
    return accuracy(data, t, method), len(t), rounds


def paired_se(run: list[float], k5: list[float]) -> float:
    """The standard error of the mean of ``run - k5`` over the replay orders (each order is one pair: the
    same unit orders feed both), NaN with fewer than two orders: how far a mean difference can be moved
    by the draw of orders alone, against which the 0.005 tolerance is read."""
    d = np.asarray(run, dtype=float) - np.asarray(k5, dtype=float)
    return float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")


def load_datasets(root: Path, only: str | None = None) -> list[DataSet]:
    """The real crowds found in ``root`` (each missing one said in a line) and the two simulated ones;
    ``only``: comma-separated names to keep."""
    datasets: list[DataSet] = []
    for name in REAL:
        d = real(name, root)
        if d is None:
            print(f"{name}: {root}/{name}.labels.csv is missing: real replay of {name} skipped")
        else:
            datasets.append(d)
    datasets.append(simulated("sim-honest", 1, accuracy=(0.55, 0.9)))
    datasets.append(simulated("sim-spammers", 2, accuracy=(0.6, 0.95), spammers=0.2, biased=0.1))
    if only:
        keep = set(only.split(","))
        datasets = [d for d in datasets if d.name in keep]
    return datasets


def run(datasets: list[DataSet], seeds: int, targets: dict[str, list[float]], initial: int, most: int,
        budgets: tuple[float, ...] = (), budget_target: float = 0.99, per_round: float = 0.05,
        budget_by: tuple[str, ...] = ("one_coin",), tolerance: float = 0.005,
        budget_initial: tuple[int, ...] = (), calibration: tuple[float, ...] = (0.0,),
        calibration_labels: int = 5, one_coin_priors: tuple[float, ...] = (2.0,),
        disputed: tuple[tuple[float, str, str], ...] = ((0.0, "majority", "score"),)) -> list[dict]:
    """``targets``: per method its posterior targets, and under ``"one_coin"`` the one-coin targets;
    ``budgets``: annotations per unit given as ``[redundancy] budget`` (times the number of units), each
    run with ``budget_target`` by each of ``budget_by``, at most ``per_round`` of the units (a share)
    getting one more answer per round, starting from each of ``budget_initial`` answers (default ``initial``),
    with each of ``calibration`` (a share of the units given ``calibration_labels`` answers first; 0: none); every
    ``one_coin`` run with each of ``one_coin_priors`` (``[redundancy] one_coin_prior``); every budgeted run with
each of ``disputed`` (``disputed_share``, ``disputed_with``; share 0: none). An adaptive run "reaches" k = 5 when its accuracy is at most
    ``tolerance`` below k = 5's with the same method."""
    out = []
    for data in datasets:
        n_units = data.labels["unit"].nunique()
        print(f"\n== {data.name}: {n_units} units, {len(data.labels)} answers, {len(data.schema.labels)} classes; "
              f"mean over {seeds} replay seed(s)")
        print(f"{'method':<12} {'policy':<50} {'annotations':>11} {'per unit':>8} {'accuracy':>8} "
              f"{'vs k=5 cost':>11} {'vs k=5 acc':>10} {'(se)':>7}")
        for method in METHODS:
            rows = []
            for k in range(1, 6):
                res = [fixed(data, s, k, method) for s in range(seeds)]
                rows.append({"data": data.name, "method": method, "policy": f"fixed k={k}", "k": k,
                             "accuracy": float(np.mean([a for a, _ in res])), "per_seed": [a for a, _ in res],
                             "annotations": float(np.mean([n for _, n in res]))})
            runs: list[tuple] = ([("posterior", t, None, 2.0) for t in targets.get(method, [])]
                                 + [("one_coin", t, None, pr) for pr in one_coin_priors for t in targets["one_coin"]]
                    + [(by, budget_target, b, pr, i, c, dis) for dis in disputed for pr in one_coin_priors
                       for c in calibration for i in (budget_initial or (initial,)) for b in budgets for by in budget_by])
            for by, target, per, prior, *start in runs:
                share, with_, order = start[2] if len(start) > 2 else (0.0, "majority", "score")
                if by != "one_coin" and prior != one_coin_priors[0]:
                    continue  # the one-coin prior changes one_coin runs only
                cal = start[1] if len(start) > 1 and start[1] else None
                budget = None if per is None else int(round(per * n_units))
                batch = None if per is None or per_round >= 1 else max(1, int(round(per_round * n_units)))
                first = start[0] if start else initial
                pol = RedundancySpec(initial=first, max=most, target=target, target_by=by, budget=budget,
                                     per_round=batch, calibration=cal,
                                     calibration_labels=max(first, min(most, calibration_labels)),
                                     one_coin_prior=prior if by == "one_coin" else 2.0,
                                     disputed_share=share or None, disputed_with=with_,
                                     disputed_order=order)
                res3 = [adaptive(data, s, pol, method) for s in range(seeds)]
                rows.append({"data": data.name, "method": method, "target": target, "by": by, "budget": per, "initial": first,
                             "calibration": cal or 0.0, "one_coin_prior": pol.one_coin_prior,
                             "disputed": (f"{share:g}:{with_}" + (":ds" if order == "dawid_skene" else "")) if share else "",
                             "policy": f"adaptive {first}..{most} {'1coin' if by == 'one_coin' else 'post'} @{target:g}"
                                       + ("" if per is None else f" b{per:g}/u"
                                          + ("" if batch is None else f" r{per_round:g}")
                                          + ("" if cal is None else f" cal{cal:g}x{pol.calibration_labels}")
                                          + ("" if not share else f" disp{share:g}:{with_}"
                                             + (":ds" if order == "dawid_skene" else "")))
                                       + ("" if by != "one_coin" or prior == 2.0 else f" p{prior:g}"),
                             "accuracy": float(np.mean([a for a, _, _ in res3])), "per_seed": [a for a, _, _ in res3],
                             "annotations": float(np.mean([n for _, n, _ in res3])),
                             "rounds": float(np.mean([x for _, _, x in res3]))})
            k5 = next(x for x in rows if x.get("k") == 5)
            for x in rows:
                x["cost_vs_k5"] = x["annotations"] / k5["annotations"]
                x["acc_vs_k5"] = x["accuracy"] - k5["accuracy"]
                x["acc_vs_k5_se"] = paired_se(x["per_seed"], k5["per_seed"])
                se = "" if np.isnan(x["acc_vs_k5_se"]) else f"{x['acc_vs_k5_se']:.4f}"
                print(f"{method:<12} {x['policy']:<50} {x['annotations']:>11.0f} {x['annotations'] / n_units:>8.2f} "
                      f"{x['accuracy']:>8.4f} {x['cost_vs_k5']:>10.0%} {x['acc_vs_k5']:>+10.4f} {se:>7}")
            best = [x for x in rows if "target" in x and x["accuracy"] >= k5["accuracy"] - tolerance - 1e-9]
            if best:
                b = min(best, key=lambda x: x["annotations"])
                verdict = "met" if b["cost_vs_k5"] <= 0.6 else "MISSED"
                print(f"  -> {method} vs k=5 {method}: cheapest adaptive run within {tolerance:g} of k=5: "
                      f"{b['policy']}, {b['cost_vs_k5']:.0%} of k=5's annotations, {b['acc_vs_k5']:+.4f} "
                      f"(target <= 60%: {verdict})")
            else:
                print(f"  -> {method} vs k=5 {method}: no adaptive run came within {tolerance:g} of k=5's "
                      f"accuracy {k5['accuracy']:.4f} (target MISSED)")
            out += [{**x, "units": n_units} for x in rows]
        mine = [x for x in out if x["data"] == data.name]
        top = max((x for x in mine if x.get("k") == 5), key=lambda x: x["accuracy"])
        best = [x for x in mine if "target" in x and x["accuracy"] >= top["accuracy"] - tolerance - 1e-9]
        if best:
            b = min(best, key=lambda x: x["annotations"])
            cost = b["annotations"] / top["annotations"]
            print(f"  -> best method: k=5 {top['method']} {top['accuracy']:.4f}; cheapest adaptive run within "
                  f"{tolerance:g}: {b['method']} {b['policy']}, {cost:.0%}, {b['accuracy'] - top['accuracy']:+.4f} "
                  f"(target <= 60%: {'met' if cost <= 0.6 else 'MISSED'})")
        else:
            print(f"  -> best method: k=5 {top['method']} {top['accuracy']:.4f}; no adaptive run came within "
                  f"{tolerance:g} (target MISSED)")
    return out


def plot(rows: list[dict], path: Path) -> None:
    df = pd.DataFrame(rows)
    names = list(dict.fromkeys(df["data"]))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: {path} not drawn", file=sys.stderr)
        return
    fig, axes = plt.subplots(len(METHODS), len(names), figsize=(3.2 * len(names), 2.8 * len(METHODS)), squeeze=False)
    for j, name in enumerate(names):
        for i, method in enumerate(METHODS):
            ax = axes[i][j]
            d = df[(df["data"] == name) & (df["method"] == method)]
            n_units = float(d["units"].iloc[0]) if len(d) else 1.0
            f = d[d["policy"].str.startswith("fixed")]
            a = d[d["policy"].str.startswith("adaptive")]
            ax.plot(f["annotations"] / n_units, f["accuracy"], "o-", color="#888", label="fixed k=1..5")
            for by, color, name_ in (("posterior", "#c0392b", "adaptive, posterior"),
                                     ("one_coin", "#e67e22", "adaptive, one_coin")):
                b = a[(a["by"] == by) & a["budget"].isna()].sort_values("annotations")
                if len(b):
                    ax.plot(b["annotations"] / n_units, b["accuracy"], "s-", color=color, label=name_)
            cals = sorted(set(a["calibration"].dropna())) if "calibration" in a else [0.0]
            priors = sorted(set(a["one_coin_prior"].dropna())) if "one_coin_prior" in a else [2.0]
            disputes = sorted(set(a["disputed"].fillna(""))) if "disputed" in a else [""]
            for n_dis, dis in enumerate(disputes):
                for cal in cals:
                    for n_prior, prior in enumerate(priors):
                        shade = (["#27ae60", "#8e44ad", "#2c3e50"] if not cal else ["#8e44ad", "#2c3e50", "#7f8c8d"])[min(n_prior + n_dis, 2)]
                        dash = (["#16a085", "#d35400", "#c0392b"] if not cal else ["#d35400", "#c0392b", "#7f8c8d"])[min(n_prior + n_dis, 2)]
                        for first, color in ((2, shade), (1, dash)):
                            b = a[a["budget"].notna() & (a["by"] == "one_coin") & (a["initial"] == first)
                                  & ((a["calibration"] == cal) if "calibration" in a else True)
                                  & ((a["disputed"].fillna("") == dis) if "disputed" in a else True)
                                  & ((a["one_coin_prior"] == prior) if "one_coin_prior" in a else True)].sort_values("annotations")
                            if len(b):
                                ax.plot(b["annotations"] / n_units, b["accuracy"], "^-" if first == 2 else "v--", color=color,
                                        label=f"budget, least certain first, from {first}"
                                              + (f", calibration {cal:g}" if cal else "")
                                              + (f", disputed {dis}" if dis else "")
                                              + (f", one-coin prior {prior:g}" if prior != 2.0 else ""))
            k5 = f[f["k"] == 5]
            if len(k5):
                ax.axvline(0.6 * 5, color="#2980b9", lw=0.8, ls=":")
                ax.axhline(float(k5["accuracy"].iloc[0]), color="#888", lw=0.8, ls=":")
            ax.set_title(f"{name}, {method}", fontsize=9)
            ax.tick_params(labelsize=7)
            if i == len(METHODS) - 1:
                ax.set_xlabel("annotations per unit", fontsize=8)
            if j == 0:
                ax.set_ylabel("accuracy", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lstrip(".") or "svg")
    print(f"\nwrote {path}")
    if path.suffix == ".svg":  # a PNG beside it, for viewers that show no SVG
        fig.savefig(path.with_suffix(".png"), format="png", dpi=90)


def _disputed(text: str) -> tuple[float, str, str]:
    """``SHARE:WITH[:ORDER]`` (``0.2:majority``, ``0.2:one_coin:dawid_skene``; ``0``: none) of ``--disputed``."""
    share, _, rest = text.partition(":")
    with_, _, order = rest.partition(":")
    try:
        value = float(share)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--disputed: expected SHARE:WITH[:ORDER] with a number for SHARE, got {text!r}")
    if not 0 <= value <= 1 or (with_ or "majority") not in ("majority", "one_coin") \
            or (order or "score") not in ("score", "dawid_skene"):
        raise argparse.ArgumentTypeError(f"--disputed: expected SHARE in [0, 1], WITH majority or one_coin, "
                                         f"ORDER score or dawid_skene, got {text!r}")
    return value, with_ or "majority", order or "score"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="replay orders averaged (the printed se is the "
                    "standard error of each difference from k=5 over them)")
    # majority's confidence is the winner's share of the votes: 0.75 stops at 2-0 or 3-1, goes on at 2-1 or 3-2
    ap.add_argument("--majority-targets", default="0.6,0.7,0.75,0.8", help="vote-share targets (majority)")
    ap.add_argument("--ds-targets", default="0.9,0.95,0.99", help="posterior targets (Dawid-Skene)")
    ap.add_argument("--one-coin-targets", default="0.9,0.95",
                    help="targets of the smoothed one-coin posterior (target_by = one_coin), every method")
    ap.add_argument("--budgets", default="2.8,3,3.3,3.5", help="budgets in annotations per unit (times the "
                    "units), run with --budget-target by --budget-by; empty: none")
    ap.add_argument("--budget-target", type=float, default=0.99, help="the target of the budgeted runs")
    ap.add_argument("--budget-by", default="one_coin", help="target_by of the budgeted runs (comma-separated)")
    ap.add_argument("--per-round", type=float, default=0.05, help="budgeted runs: share of the units given one "
                    "more answer per round ([redundancy] per_round), least certain first; 1: every unit below target")
    ap.add_argument("--budget-initial", default="", help="budgeted runs: answers per unit to start with, "
                    "comma-separated, each run (default --initial)")
    ap.add_argument("--calibration", default="", help="budgeted runs: shares of the units given "
                    "--calibration-labels answers first ([redundancy] calibration), comma-separated, each run; "
                    "0: none (default: none)")
    ap.add_argument("--calibration-labels", type=int, default=5, help="[redundancy] calibration_labels of "
                    "the --calibration runs (at most --max)")
    ap.add_argument("--one-coin-prior", default="2", help="one_coin runs: [redundancy] one_coin_prior (answers the "
                    "prior on each annotator's accuracy is worth), comma-separated, each run (default 2)")
    ap.add_argument("--ds-prior", default="", help="also score Dawid-Skene with aggregate option prior = N (a "
                    "Dirichlet prior on confusion rows), as its own method against its own k=5; comma-separated")
    ap.add_argument("--disputed", default="", help="budgeted runs: SHARE:WITH[:ORDER] ([redundancy] disputed_share, "
                    "disputed_with: majority or one_coin, disputed_order: score or dawid_skene), comma-separated, "
                    "each run; 0: none (default: none)")
    ap.add_argument("--tolerance", type=float, default=0.005, help="how far below k=5's accuracy still counts "
                    "as reaching it")
    ap.add_argument("--data", type=Path, default=CROWD_DATA, help="folder of the real crowd data (NAME.labels.csv)")
    ap.add_argument("--initial", type=int, default=2)
    ap.add_argument("--max", type=int, default=7)
    ap.add_argument("--only", help="comma-separated data set names")
    ap.add_argument("--svg", help="draw the curves to this file (.svg or .png)")
    args = ap.parse_args(argv)
    datasets = load_datasets(args.data, args.only)
    METHODS[:] = ["majority", "dawid_skene"] + [f"dawid_skene+prior{float(x):g}" for x in args.ds_prior.split(",") if x]
    targets = {"majority": [float(x) for x in args.majority_targets.split(",") if x],
               "dawid_skene": [float(x) for x in args.ds_targets.split(",") if x],
               "one_coin": [float(x) for x in args.one_coin_targets.split(",") if x]}
    budgets = tuple(float(x) for x in args.budgets.split(",") if x)
    try:
        disputed = tuple(_disputed(x) for x in args.disputed.split(",") if x) or ((0.0, "majority", "score"),)
    except argparse.ArgumentTypeError as exc:
        ap.error(str(exc))
    rows = run(datasets, args.seeds, targets, args.initial, args.max, budgets, args.budget_target, args.per_round,
               tuple(x for x in args.budget_by.split(",") if x), args.tolerance,
               tuple(int(x) for x in args.budget_initial.split(",") if x),
               tuple(float(x) for x in args.calibration.split(",") if x) or (0.0,), args.calibration_labels,
               tuple(float(x) for x in args.one_coin_prior.split(",") if x) or (2.0,),
               disputed)
    if args.svg:
        plot(rows, Path(args.svg))


if __name__ == "__main__":
    main()
