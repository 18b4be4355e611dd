"""The redundancy check: after a round, the units below the ``[redundancy]`` target get one more
annotator each, as a new round (kind ``adaptive``), by the policy of :mod:`workbench.redundancy`.

How settled a unit is: with ``target_by = "posterior"``, the confidence the campaign's aggregation
method (and options) gives its label, computed with the gold labels withheld, so a honeypot is judged
exactly like any other unit and keeps getting the same number of annotators (blind); with
``"agreement"``, its pairwise agreement (span tasks: pooled pairwise span F1); with ``"one_coin"``,
the smoothed one-coin posterior of :func:`workbench.redundancy.one_coin_scores` (annotators' accuracy
estimated over all units, whatever the aggregation method; single or ordinal labels). A unit with places of
the latest round not answered yet waits; a place left open through a whole later round is overdue, and
its unit is judged on the answers it has. A new place goes to an active annotator who never had the unit, the one with the
least unanswered work first, then the least loaded (seeded draw): work goes to those who keep up, not
to a person who has not opened their queue yet. With ``disputed_share``, the units where Dawid-Skene
and ``disputed_with`` (majority vote or one-coin), both fitted on every answer so far with the gold
withheld, give different labels are *disputed* (:func:`disputes`): that share of the round's places
goes to them first.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..aggregate.choose import aggregate_table
from ..agreement.units import unit_agreement
from ..errors import WorkbenchError
from ..models import LabelKind
from ..redundancy import COLUMNS, Decision, decide, describe, one_coin_labels, one_coin_scores
from ..spec.redundancy import RedundancySpec
from .assign import Plan

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext

STEP = "redundancy"


def scores(ctx: "StepContext") -> dict[str, float]:
    """Each unit's score towards the target (units without a counted label are missing)."""
    spec, state = ctx.spec, ctx.state
    assert spec.redundancy is not None
    table = state.table
    if table.empty:
        return {}
    schema = ctx.task_type.schema
    if spec.redundancy.target_by == "agreement":
        per = unit_agreement(table, schema)
        return {u: float(a) for u, a in zip(per["unit"], per["agreement"]) if a is not None}
    if spec.redundancy.target_by == "one_coin":
        if schema.kind not in (LabelKind.SINGLE, LabelKind.ORDINAL):
            raise WorkbenchError(f"redundancy.target_by = \"one_coin\" needs one label per answer (single or ordinal); this task's are "
                                 f"{schema.kind.value} (use \"posterior\" or \"agreement\")")
        return one_coin_scores(table, len(schema.labels), prior_answers=spec.redundancy.one_coin_prior)
    result = aggregate_table(ctx.registry, schema, table, spec.aggregate_method, gold=None,
                             units=state.units_by_id, **spec.aggregate_options)
    return dict(zip(result.labels["unit"], result.labels["confidence"].astype(float)))


def disputes(registry, schema, table: pd.DataFrame, policy: RedundancySpec, units=None) -> dict[str, float]:
    """The units where Dawid-Skene's label differs from ``policy.disputed_with``'s (majority vote, or the
    one-coin model's most likely label with ``policy.one_coin_prior``), both fitted on ``table`` (the
    long table of every answer so far) with no gold, each with Dawid-Skene's posterior of its label;
    ``units``: the campaign's units by id, if any."""
    if table.empty:
        return {}
    if schema.kind not in (LabelKind.SINGLE, LabelKind.ORDINAL):
        raise WorkbenchError(f"redundancy.disputed_share needs one label per answer (single or ordinal); this task's are "
                             f"{schema.kind.value} (drop disputed_share)")
    ds = aggregate_table(registry, schema, table, "dawid_skene", gold=None, units=units).labels
    mine = dict(zip(ds["unit"].astype(str), ds["label"].astype(str)))
    sure = dict(zip(ds["unit"].astype(str), ds["confidence"].astype(float)))
    if policy.disputed_with == "one_coin":
        other = one_coin_labels(table, len(schema.labels), prior_answers=policy.one_coin_prior)
    else:
        mv = aggregate_table(registry, schema, table, "majority", gold=None, units=units).labels
        other = dict(zip(mv["unit"].astype(str), mv["label"].astype(str)))
    return {u: sure[u] for u, label in mine.items() if u in other and other[u] != label}


def unit_table(plan: Plan, score: dict[str, float], fresh: set[tuple[str, str]] | None = None,
               disputed: dict[str, float] | None = None, order: str = "score") -> pd.DataFrame:
    """The policy's table (:data:`workbench.redundancy.COLUMNS`) of the campaign's units.

    ``fresh``: the places (unit, annotator) handed out in the latest round; only those make a unit wait.
    An open place from an earlier round is overdue (its annotator let a whole round go by without it):
    the unit is judged on the answers it has, so one person who does not come does not leave their
    units with fewer labels than the policy asks for (None: every open place makes its unit wait).
    ``disputed``: the units :func:`disputes` found (a column ``disputed``; None: no such column), and with
    ``order = "dawid_skene"`` their Dawid-Skene posterior (a column ``dispute_rank``).
    """
    active = set(plan.active)
    rows = []
    for u in plan.units:
        who = plan.planned.get(u, set())
        answered = sum(1 for a in who if (u, a) in plan.answered)
        open_ = sum(1 for a in who if (u, a) not in plan.answered and (fresh is None or (u, a) in fresh))
        free = sum(1 for a in active if a not in plan.ever.get(u, ()))
        rows.append((u, len(who), open_, score.get(u, np.nan), free, answered))
    out = pd.DataFrame(rows, columns=[*COLUMNS, "answered"])
    return out if disputed is None else with_disputes(out, disputed, order)


def with_disputes(units: pd.DataFrame, disputed: dict[str, float], order: str = "score") -> pd.DataFrame:
    """``units`` (the policy's table) with the column ``disputed`` (the units :func:`disputes` found) and,
    with ``order = "dawid_skene"``, ``dispute_rank`` (their Dawid-Skene posterior), as :func:`decide` reads them."""
    units["disputed"] = [u in disputed for u in units["unit"]]
    if order == "dawid_skene":
        units["dispute_rank"] = [disputed.get(u, np.nan) for u in units["unit"]]
    return units


def spent(plan: Plan) -> int:
    """Annotations spent: every planned place (answered or not), every round included."""
    return sum(len(plan.planned.get(u, ())) for u in plan.units)


def check(ctx: "StepContext") -> tuple[Plan, Decision]:
    """The decision for the campaign as it stands (no writes)."""
    assert ctx.spec.redundancy is not None
    plan = Plan(ctx)
    assignments = ctx.state.assignments
    latest = max((a.round for a in assignments), default=0)
    fresh = {(a.unit, a.annotator) for a in assignments if a.planned and a.round == latest}
    policy = ctx.spec.redundancy
    disputed = (disputes(ctx.registry, ctx.task_type.schema, ctx.state.table, policy, ctx.state.units_by_id)
                if policy.disputed_share else None)
    return plan, decide(unit_table(plan, scores(ctx), fresh, disputed, policy.disputed_order), policy, spent(plan))


def run(ctx: "StepContext") -> dict[str, Any]:
    """Check every unit; write a round giving one more annotator to each unit below target (if any).
    Returns the check's summary, with the round's number (None: no new round)."""
    ctx.require(STEP, "pull")
    policy = ctx.spec.redundancy
    assert policy is not None
    plan, decision = check(ctx)
    backlog: Counter = Counter()
    for u in plan.units:
        for a in plan.planned.get(u, ()):
            if (u, a) not in plan.answered:
                backlog[a] += 1
    loads = plan.loads()
    order = list(decision.more)  # least settled first: the budget already kept the neediest
    for u in order:
        free = [a for a in plan.active if a not in plan.ever.get(u, ())]
        pick = min(free, key=lambda a: (backlog[a], loads[a], plan.rng.random()))
        plan.add(u, pick)
        backlog[pick] += 1
        loads[pick] += 1
    summary = {**decision.summary(), "policy": describe(policy), "round": None,
               "rounds": sum(1 for r in ctx.state.rounds if r["kind"] == "adaptive")}
    with ctx.store.transaction():
        if order:
            top = decision.counts()
            reason = (f"{len(order)} unit(s) below {policy.target_by} {policy.target:g}: one more annotator each"
                      + (f" ({top['budget']} more left out: budget)" if top["budget"] else "")
                      + (f" ({len(decision.deferred)} more deferred: per_round {policy.per_round})"
                         if decision.deferred else ""))
            summary["round"] = plan.write("adaptive", reason)
            summary["rounds"] += 1
            summary["spent"] = decision.spent + len(order)
        ctx.record(STEP, summary)
    return summary


def survey(ctx: "StepContext") -> dict[str, Any]:
    """Record where the units stand without making a round (say, while a round's work is open)."""
    policy = ctx.spec.redundancy
    assert policy is not None
    _, decision = check(ctx)
    summary = {**decision.summary(), "policy": describe(policy), "round": None,
               "rounds": sum(1 for r in ctx.state.rounds if r["kind"] == "adaptive")}
    with ctx.store.transaction():
        ctx.record(STEP, summary)
    return summary
