"""What a known crowd would give: the bound behind the adaptive-redundancy cells that miss k = 5.

``bench_redundancy`` finds that a budget of 3 answers per unit (60% of fixed k = 5), spent least
certain first, reaches fixed k = 5's Dawid-Skene on face and sim-spammers but not on dog, sim-honest
or duck. This benchmark splits that miss in two, on the same replays (``bench_redundancy.Replay``,
the campaign's :func:`workbench.redundancy.decide`):

- **the crowd's estimate**: Dawid-Skene fitted on *every* answer of the data set (about 10 per unit,
  39 on duck) stands for a crowd whose confusion matrices and class priors are known; its posterior
  for a unit given only the answers drawn so far is the "known crowd" label;
- **the steering**: which units get the next answers, by the campaign's one-coin score
  (``target_by = "one_coin"``, as shipped) or by the known crowd's posterior.

Each adaptive run (initial 1, max 7, target 0.99, ``--budget`` answers per unit, ``--per-round`` of the
units per round) is labelled both ways, by Dawid-Skene fitted on its own answers (what a campaign
can do) and by the known crowd, and compared with fixed k = 5 labelled by Dawid-Skene fitted on its
own answers (the benchmark's k = 5), as a mean over ``--seeds`` replay orders with the standard
error of the paired differences. The known crowd has seen the truth of no unit, but it has seen
every answer, including those the replay withholds: it is a bound, not a method.

    python -m benchmarks.bench_redundancy_bound [--seeds 20] [--only dog,duck]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.aggregate.choose import aggregate_table
from workbench.registry import get_registry
from workbench.spec.redundancy import RedundancySpec

from benchmarks.bench_redundancy import (
    CROWD_DATA,
    DataSet,
    accuracy,
    campaign_scores,
    drive,
    fixed_table,
    load_datasets,
    paired_se,
    share_right,
)

STEERS = ("one_coin", "known")


@dataclass
class KnownCrowd:
    """Dawid-Skene's class priors and confusion matrices fitted on every answer of a data set."""

    classes: list[str]
    log_prior: np.ndarray  # K
    log_confusion: dict[str, np.ndarray]  # annotator -> K (true) x K (given)

    def posteriors(self, table: pd.DataFrame) -> tuple[list[str], np.ndarray]:
        """Each unit of ``table`` (unit, annotator, label) and its posterior over :attr:`classes` given
        its answers there and the known crowd."""
        units, codes = np.unique(table["unit"].to_numpy(dtype=str), return_inverse=True)
        given = pd.Index(self.classes).get_indexer(table["label"].astype(str))
        conf = np.stack([self.log_confusion[a] for a in table["annotator"].astype(str)])  # n x K x K
        logp = np.tile(self.log_prior, (len(units), 1))
        np.add.at(logp, codes, conf[np.arange(len(given)), :, given])
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        return list(units), p / p.sum(axis=1, keepdims=True)

    def accuracy(self, data: DataSet, table: pd.DataFrame) -> float:
        units, post = self.posteriors(table)
        return share_right(data, dict(zip(units, np.asarray(self.classes)[post.argmax(axis=1)])))


def known_crowd(data: DataSet) -> KnownCrowd:
    """Fit Dawid-Skene (the workbench's, no gold) on every answer of ``data``."""
    res = aggregate_table(get_registry(), data.schema, data.labels, "dawid_skene")
    post, annotators = res.posteriors, res.annotators
    if post is None or annotators is None:
        raise ValueError(f"{data.name}: Dawid-Skene gave no posteriors or no confusion matrices")
    classes = [str(c) for c in post.columns]
    if classes != [str(c) for c in data.schema.labels]:
        raise ValueError(f"{data.name}: posterior columns {classes} are not the schema's classes")
    log = lambda x: np.log(np.maximum(np.asarray(x, dtype=float), 1e-10))  # noqa: E731
    return KnownCrowd(classes, log(post.to_numpy().mean(axis=0)),
                      {str(a): log(c) for a, c in zip(annotators["annotator"], annotators["confusion"])})


def replay(data: DataSet, seed: int, policy: RedundancySpec, steer: str, crowd: KnownCrowd) -> pd.DataFrame:
    """The answers a budgeted adaptive run draws, steered by the one-coin score (as a campaign) or by the
    known crowd's posterior."""
    def known(t: pd.DataFrame) -> dict[str, float]:
        units, post = crowd.posteriors(t)
        return dict(zip(units, post.max(axis=1)))

    scores = known if steer == "known" else (lambda t: campaign_scores(data, policy, "dawid_skene", t))
    return drive(data, seed, policy, scores)[0]


def run(datasets: list[DataSet], seeds: int, budget: float = 3.0, per_round: float = 0.05,
        most: int = 7) -> list[dict]:
    """Per data set: fixed k = 5 and every steering, each labelled by Dawid-Skene fitted on its own answers
    and by the known crowd; differences from fixed k = 5's Dawid-Skene, paired over the replay orders."""
    out = []
    for data in datasets:
        n = data.labels["unit"].nunique()
        crowd = known_crowd(data)
        policy = RedundancySpec(initial=1, max=most, target=0.99, target_by="one_coin",
                                budget=int(round(budget * n)), per_round=max(1, int(round(per_round * n))))
        runs: dict[str, dict[str, list[float]]] = {"fixed k=5": {"fitted": [], "known": [], "annotations": []}}
        runs |= {f"adaptive, steered by {s}": {"fitted": [], "known": [], "annotations": []} for s in STEERS}
        for seed in range(seeds):
            tables = {"fixed k=5": fixed_table(data, seed, 5)}
            tables |= {f"adaptive, steered by {s}": replay(data, seed, policy, s, crowd) for s in STEERS}
            for name, t in tables.items():
                runs[name]["fitted"].append(accuracy(data, t, "dawid_skene"))
                runs[name]["known"].append(crowd.accuracy(data, t))
                runs[name]["annotations"].append(len(t))
        base = runs["fixed k=5"]["fitted"]
        print(f"\n== {data.name}: {n} units, {len(data.labels)} answers; mean over {seeds} replay orders; "
              f"differences from fixed k=5 labelled by Dawid-Skene fitted on its own answers (se)")
        print(f"{'run':<30} {'per unit':>8} {'DS fitted':>9} {'vs k=5':>8} {'(se)':>7} {'known crowd':>11} "
              f"{'vs k=5':>8} {'(se)':>7}")
        for name, v in runs.items():
            row = {"data": data.name, "run": name, "per_unit": float(np.mean(v["annotations"])) / n}
            for how in ("fitted", "known"):
                row[how] = float(np.mean(v[how]))
                row[f"{how}_vs_k5"] = row[how] - float(np.mean(base))
                row[f"{how}_se"] = paired_se(v[how], base)
            se = {h: "" if np.isnan(row[f"{h}_se"]) else f"{row[f'{h}_se']:.4f}" for h in ("fitted", "known")}
            print(f"{name:<30} {row['per_unit']:>8.2f} {row['fitted']:>9.4f} {row['fitted_vs_k5']:>+8.4f} "
                  f"{se['fitted']:>7} {row['known']:>11.4f} {row['known_vs_k5']:>+8.4f} {se['known']:>7}")
            out.append(row)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="replay orders averaged")
    ap.add_argument("--budget", type=float, default=3.0, help="annotations per unit of the adaptive runs")
    ap.add_argument("--per-round", type=float, default=0.05, help="share of the units given one more answer per round")
    ap.add_argument("--max", type=int, default=7)
    ap.add_argument("--data", type=Path, default=CROWD_DATA, help="folder of the real crowd data (NAME.labels.csv)")
    ap.add_argument("--only", help="comma-separated data set names")
    args = ap.parse_args(argv)
    run(load_datasets(args.data, args.only), args.seeds, args.budget, args.per_round, args.max)


if __name__ == "__main__":
    main()
