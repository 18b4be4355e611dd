"""Adaptive redundancy: which units get one more annotator after a round (the policy).

A plain function over a table, used by the campaign engine (:mod:`workbench.steps.redundancy`) and by
the benchmark (``benchmarks/bench_redundancy.py``), so the benchmark measures the code campaigns run.

Each unit is one row of the table :func:`decide` reads:

- ``unit``: its id;
- ``labels``: how many annotators it has (its planned places, answered or not);
- ``open``: how many of those places are not answered yet;
- ``score``: how settled it is, in [0, 1]: the aggregation's confidence in its label (posterior) or
  its pairwise agreement; NaN when there is none yet (no counted label, or one label for agreement);
- ``free``: how many annotators could still take it (in the pool, never had it);
- ``answered`` (optional; default ``labels - open``): how many of its places are answered;
- ``disputed`` (needed with ``disputed_share``): whether Dawid-Skene and ``disputed_with`` give it
  different labels;
- ``dispute_rank`` (optional): the disputed units' order, lowest first, ahead of the score's
  (``disputed_order = "dawid_skene"``: Dawid-Skene's posterior of its label).

A unit with fewer answers than ``initial`` (its other places overdue: given to someone who let a
round go by) is not judged by its score: one answer is no consensus, whatever its vote share.

A unit with open places waits: it is judged when its answers are in. Otherwise it is settled when its
score reaches the target, when it has ``max`` annotators, or when nobody is left to ask; the others
get one more annotator each, the least settled first (lowest score, then fewest labels, then a draw
keyed on the unit id), as far as the budget goes and, with ``per_round``, at most that many units per
round: the others are *deferred* to a later check, where the scores re-fitted on the new answers
rank them again (a global, least-certain-first allocation of the budget). With ``calibration``, a
share of the units (those first in a fixed draw on the unit ids, whatever their score) gets
``calibration_labels`` annotators ahead of every other unit, so that each annotator meets units with
enough answers for Dawid-Skene to estimate their confusion matrix before the budget goes to the
uncertain ones. With ``disputed_share``, that share of the round's places (rounded; ``per_round``, or
what the budget leaves) goes first to the *disputed* units, those where Dawid-Skene and a simpler
model (majority vote or one-coin, ``disputed_with``) disagree, least settled first (or by
``dispute_rank``), after any
calibration units; places the disputed units do not fill go by the score like the rest. Honeypots are units like any other here: the engine
judges them by the same posterior, so their number of annotations does not give them away.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .spec.redundancy import ONE_COIN_PRIOR, RedundancySpec

#: why a unit gets no more annotators, in the order they are checked
REASONS = ("target", "max", "no one left", "budget")

COLUMNS = ["unit", "labels", "open", "score", "free"]


@dataclass
class Decision:
    """What one check decided: ``more`` get one more annotator each (least settled first)."""

    more: list[str] = field(default_factory=list)
    settled: dict[str, str] = field(default_factory=dict)  # unit -> one of REASONS
    waiting: list[str] = field(default_factory=list)  # units with places not answered yet
    deferred: list[str] = field(default_factory=list)  # below target, left for a later round (per_round)
    open_places: int = 0  # answers awaited on the waiting units
    spent: int = 0  # annotations spent (planned places) before this decision
    budget_left: int | None = None  # after the ``more`` places

    @property
    def done(self) -> bool:
        """Nothing more to ask and nothing to wait for."""
        return not self.more and not self.waiting

    def counts(self) -> dict[str, int]:
        out = {r: 0 for r in REASONS}
        for r in self.settled.values():
            out[r] += 1
        return out

    def summary(self) -> dict[str, Any]:
        return {"more": len(self.more), "settled": self.counts(), "waiting": len(self.waiting),
                "deferred": len(self.deferred),
                "open_places": self.open_places, "spent": self.spent, "budget_left": self.budget_left}


def _draw(unit: str) -> int:
    return int.from_bytes(hashlib.sha256(str(unit).encode()).digest()[:8], "big")


def calibration_units(units, policy: RedundancySpec) -> set[str]:
    """The units ``policy.calibration`` picks: that share of ``units`` (rounded), first in the fixed draw
    on their ids (so the same units whatever the round, and unrelated to their labels or gold)."""
    if not policy.calibration:
        return set()
    ids = [str(u) for u in units]
    return set(sorted(ids, key=lambda u: (_draw(u), u))[:int(round(policy.calibration * len(ids)))])


def decide(units: pd.DataFrame, policy: RedundancySpec, spent: int | None = None) -> Decision:
    """Which of ``units`` (columns :data:`COLUMNS`) get one more annotator. ``spent``: the annotations
    spent so far (default: the sum of ``labels``), counted against ``policy.budget``."""
    missing = [c for c in COLUMNS if c not in units.columns]
    if missing:
        raise ValueError(f"decide: the unit table has no column {missing[0]!r} (expected {', '.join(COLUMNS)})")
    spent = int(units["labels"].sum()) if spent is None else int(spent)
    out = Decision(spent=spent)
    eps = 1e-9
    wanting: list[tuple[float, int, int, str]] = []
    answered = units["answered"] if "answered" in units.columns else units["labels"] - units["open"]
    calibrating = calibration_units(units["unit"], policy)
    for (unit, labels, open_, score, free), done in zip(units[COLUMNS].itertuples(index=False), answered):
        labels, open_, free = int(labels), int(open_), int(free)
        settled_score = score is not None and not (isinstance(score, float) and math.isnan(score))
        if open_ > 0:
            out.waiting.append(unit)
            out.open_places += open_
        elif unit in calibrating and labels < policy.calibration_labels and free > 0:
            wanting.append((-2.0, labels, _draw(unit), unit))  # ahead of every score (a missing one is -1)
        elif settled_score and int(done) >= policy.initial and float(score) >= policy.target - eps:
            out.settled[unit] = "target"
        elif labels >= policy.max:
            out.settled[unit] = "max"
        elif free <= 0:
            out.settled[unit] = "no one left"
        else:
            wanting.append((float(score) if settled_score else -1.0, labels, _draw(unit), unit))
    wanting.sort()
    room = len(wanting) if policy.budget is None else max(policy.budget - spent, 0)
    take = room if policy.per_round is None else min(room, policy.per_round)
    if policy.disputed_share:
        wanting = _disputed_first(units, wanting, int(round(policy.disputed_share * min(take, len(wanting)))))
    out.more = [w[3] for w in wanting[:take]]
    out.deferred = [w[3] for w in wanting[take:room]]
    for w in wanting[room:]:
        out.settled[w[3]] = "budget"
    if policy.budget is not None:
        out.budget_left = max(policy.budget - spent - len(out.more), 0)
    return out


def _disputed_first(units: pd.DataFrame, wanting: list[tuple[float, int, int, str]],
                    keep: int) -> list[tuple[float, int, int, str]]:
    """``wanting`` (sorted) with up to ``keep`` disputed units, least settled first, moved up to just after
    the calibration units (which stay first)."""
    if "disputed" not in units.columns:
        raise ValueError("decide: redundancy.disputed_share is set but the unit table has no column 'disputed'")
    if keep <= 0:
        return wanting
    disputed = {u for u, d in zip(units["unit"], units["disputed"]) if d == d and bool(d)}  # NaN: no
    calibrating = [w for w in wanting if w[0] <= -2.0]
    picked = [w for w in wanting if w[0] > -2.0 and w[3] in disputed]
    if "dispute_rank" in units.columns:
        rank = {u: float(r) for u, r in zip(units["unit"], units["dispute_rank"]) if r == r and r is not None}
        picked.sort(key=lambda w: (rank.get(w[3], math.inf), w))
    picked = picked[:keep]
    chosen = {w[3] for w in picked}
    return calibrating + picked + [w for w in wanting if w[0] > -2.0 and w[3] not in chosen]


#: the one-coin score's prior on every annotator: as if each had already given ``PRIOR_ANSWERS`` answers,
#: a share ``PRIOR_ACCURACY`` of them right (so two answers from a newcomer do not make a unit certain);
#: ``[redundancy] one_coin_prior`` sets the number of answers
PRIOR_ANSWERS = ONE_COIN_PRIOR
PRIOR_ACCURACY = 0.7


def one_coin_scores(table: pd.DataFrame, n_labels: int | None = None, iterations: int = 10,
                    prior_answers: float | None = None) -> dict[str, float]:
    """Each unit's probability that its most likely label is right, under a smoothed one-coin model.

    Every annotator ``a`` is right with probability ``q_a`` and otherwise picks one of the other ``K - 1``
    labels at random; ``q_a`` is estimated over all units (EM, ``iterations`` rounds, from ``q = 0.7``)
    with a Beta prior worth ``prior_answers`` (default :data:`PRIOR_ANSWERS`) answers at
    :data:`PRIOR_ACCURACY`, so annotators with few answers stay near the prior. A unit's posterior is then its answers' weighted vote (weight
    ``log(q_a (K - 1) / (1 - q_a))``) normalised over the labels seen in the table, with flat class
    priors (``n_labels``: the schema's number of labels, default those seen). Unlike Dawid-Skene's posterior it is not over-confident after two answers: with ``q = 0.7``
    and 4 labels, two agreeing answers give 0.94, two agreeing and one dissenting 0.84. ``table``: the
    long table ``unit, annotator, label`` (single-choice labels)."""
    if table.empty:
        return {}
    units, _, post = _one_coin(table, n_labels, iterations, prior_answers)
    return dict(zip(units, post.max(axis=1).astype(float)))


def one_coin_labels(table: pd.DataFrame, n_labels: int | None = None, iterations: int = 10,
                    prior_answers: float | None = None) -> dict[str, str]:
    """Each unit's most likely label under the model of :func:`one_coin_scores` (ties: the first label in
    sorted order)."""
    if table.empty:
        return {}
    units, labels, post = _one_coin(table, n_labels, iterations, prior_answers)
    return dict(zip(units, (labels[i] for i in post[:, :len(labels)].argmax(axis=1))))


def _one_coin(table: pd.DataFrame, n_labels: int | None, iterations: int,
              prior_answers: float | None) -> tuple[list[str], list[str], np.ndarray]:
    """The units, the labels seen and the posterior (units x max(labels, ``n_labels``, 2)) of the one-coin fit."""
    strength = PRIOR_ANSWERS if prior_answers is None else float(prior_answers)
    units = pd.Categorical(table["unit"].astype(str))
    annotators = pd.Categorical(table["annotator"].astype(str))
    labels = pd.Categorical(table["label"].astype(str))
    u, a, y = units.codes, annotators.codes, labels.codes
    n_u, n_a, k = len(units.categories), len(annotators.categories), max(len(labels.categories), n_labels or 0, 2)
    q = np.full(n_a, PRIOR_ACCURACY)
    answers = np.bincount(a, minlength=n_a).astype(float)
    post = np.zeros((n_u, k))
    for _ in range(max(iterations, 1)):
        qc = np.clip(q, 1e-3, 1 - 1e-3)
        weight = np.log(qc * (k - 1) / (1 - qc))
        logp = np.zeros((n_u, k))
        np.add.at(logp, (u, y), weight[a])
        post = np.exp(logp - logp.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        right = np.bincount(a, weights=post[u, y], minlength=n_a)
        q = (right + strength * PRIOR_ACCURACY) / (answers + strength)
    return list(units.categories.astype(str)), list(labels.categories.astype(str)), post


def describe(policy: RedundancySpec) -> str:
    """The policy in one line, for status, the card and the report."""
    return (f"start with {policy.initial} annotator(s) per unit; one more per round while its "
            f"{policy.target_by} is below {policy.target:g}, up to {policy.max}"
            + (f", within a budget of {policy.budget} annotations" if policy.budget is not None else "")
            + (f", at most {policy.per_round} unit(s) per round, least settled first"
               if policy.per_round is not None else "")
            + (f"; {policy.calibration:.0%} of the units get {policy.calibration_labels} annotator(s) first "
               "(calibration)" if policy.calibration else "")
            + (f"; one-coin prior worth {policy.one_coin_prior:g} answer(s) per annotator"
               if policy.target_by == "one_coin" and policy.one_coin_prior != ONE_COIN_PRIOR else "")
            + (f"; {policy.disputed_share:.0%} of each round's places first to the units where Dawid-Skene and "
               f"{'majority vote' if policy.disputed_with == 'majority' else 'one-coin'} disagree"
               + (", lowest Dawid-Skene posterior first" if policy.disputed_order == "dawid_skene" else "")
               if policy.disputed_share else ""))


def progress(policy: RedundancySpec | None, rounds: list[dict[str, Any]], per_unit: dict[str, int],
             last_check: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where a campaign with ``[redundancy]`` stands, for status and the data card: its adaptive rounds,
    the annotations spent (planned places, every round) and answered, the units per number of
    annotators, and what the last check found (units settled and why, units waiting)."""
    if policy is None:
        return None
    adaptive = [r for r in rounds if r["kind"] == "adaptive"]
    spread: dict[int, int] = {}
    for n in per_unit.values():
        spread[n] = spread.get(n, 0) + 1
    check = last_check or {}
    return {"policy": describe(policy), "initial": policy.initial, "max": policy.max, "target": policy.target,
            "target_by": policy.target_by, "budget": policy.budget, "per_round": policy.per_round,
            "calibration": policy.calibration, "calibration_labels": policy.calibration_labels if policy.calibration else None,
            "one_coin_prior": policy.one_coin_prior if policy.target_by == "one_coin" else None,
            "disputed_share": policy.disputed_share,
            "disputed_with": policy.disputed_with if policy.disputed_share else None,
            "disputed_order": policy.disputed_order if policy.disputed_share else None,
            "rounds": len(rounds),
            "adaptive_rounds": len(adaptive),
            "spent": sum(int(r["assignments"]) for r in rounds), "answered": sum(int(r["answered"]) for r in rounds),
            "units_by_annotators": {str(k): spread[k] for k in sorted(spread)},
            "mean_annotators": round(sum(per_unit.values()) / len(per_unit), 3) if per_unit else None,
            "settled": check.get("settled"), "waiting": check.get("waiting"),
            "open_places": check.get("open_places"), "checked": last_check is not None}
