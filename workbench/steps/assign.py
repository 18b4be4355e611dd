"""The assign step: who labels what, round by round.

Honeypots are blind: they get ``overlap`` annotators like every other unit, so nothing in a task
(its number of annotations, its place in a queue or in a server's stream) tells them apart. The
first round hands the honeypots out first, each to the annotators with the least gold so far, then
the regular units to the least-loaded annotators (seeded tie-breaks): loads differ by at most one
and each annotator's gold differs by at most one, about ``gold.rate`` of their work. Each queue is
shuffled (seeded) so gold is mixed in, not bunched.

Later runs bring the plan in line with the current spec, as a new round, and keep everything
already planned: a retired annotator's unanswered work goes to others; a new annotator takes over
unanswered work (gold in the campaign's proportion) from the busiest annotators until loads are
even, or, when everything is answered, gets a fair share of the units that need another label most
(with as many honeypots as anyone's share); a raised overlap gives each unit more annotators.
:func:`add_round` is the same machinery for a round asked for by hand (more labels for some units).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import WorkbenchError
from ..store import now
from ..store import work as work_sql
from . import collector_paused_in

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


def assign(regular: list[str], honeypots: list[str], annotators: list[str], overlap: int,
           seed: int) -> list[tuple[str, str, int]]:
    """``(unit, annotator, position in that annotator's queue)`` rows of a first round."""
    if overlap > len(annotators):
        raise ValueError(f"overlap {overlap} is larger than the pool ({len(annotators)})")
    rng = random.Random(seed)
    load = {a: 0 for a in annotators}
    gold = {a: 0 for a in annotators}
    queues: dict[str, list[str]] = {a: [] for a in annotators}
    pots = list(honeypots)
    rng.shuffle(pots)
    for unit in pots:
        for a in sorted(annotators, key=lambda a: (gold[a], load[a], rng.random()))[:overlap]:
            queues[a].append(unit)
            load[a] += 1
            gold[a] += 1
    order = list(regular)
    rng.shuffle(order)
    for unit in order:
        for a in sorted(annotators, key=lambda a: (load[a], rng.random()))[:overlap]:
            queues[a].append(unit)
            load[a] += 1
    rows = []
    for a in annotators:
        q = sorted(queues[a])
        random.Random(f"{seed}:{a}").shuffle(q)
        rows.extend((u, a, i) for i, u in enumerate(q))
    return rows


def calibration_first(units: list[str], honeypots: dict[str, str], n: int) -> list[str]:
    """``units`` (a queue in order) with up to ``n`` honeypots moved to its head (``[gating]
    calibration``: a newcomer's first tasks are honeypots), the rest in their order.
    ``honeypots``: ``{unit: its gold's class}``; the calibration takes the classes in turn (one of
    each, then again), so a skewed gold does not let someone who always gives the commonest label
    through."""
    if n <= 0:
        return units
    by_class: dict[str, list[str]] = {}
    for u in units:
        if u in honeypots:
            by_class.setdefault(honeypots[u], []).append(u)
    head: list[str] = []
    while len(head) < n and any(by_class.values()):
        for pots in by_class.values():
            if pots and len(head) < n:
                head.append(pots.pop(0))
    taken = set(head)
    return head + [u for u in units if u not in taken]


def calibrated(rows: list[tuple[str, str, int]], honeypots: dict[str, str], n: int) -> list[tuple[str, str, int]]:
    """First-round rows with each annotator's queue re-ordered by :func:`calibration_first`."""
    if n <= 0:
        return rows
    per: dict[str, list[tuple[int, str]]] = {}
    for u, a, p in rows:
        per.setdefault(a, []).append((p, u))
    out = []
    for a, items in per.items():
        queue = calibration_first([u for _, u in sorted(items)], honeypots, n)
        out.extend((u, a, i) for i, u in enumerate(queue))
    return out


def gold_classes(units) -> dict[str, str]:
    """``{honeypot: the class of its gold}`` (span tasks: the number of spans, 0, 1 or more)."""
    from ..models import label_key

    def cls(gold) -> str:
        if isinstance(gold, tuple) and any(hasattr(x, "start") for x in gold) or gold == ():
            return str(min(len(gold), 2))
        return label_key(gold)

    return {u.id: cls(u.gold_label) for u in units if u.is_gold}


def covered(planned: dict[str, set[str]], annotations) -> set[tuple[str, str]]:
    """The planned (unit, annotator) pairs whose work is done: answered by that annotator, or taken by
    someone else. Label Studio hands a task to whoever asks first, so a unit's places may be filled by
    annotators the plan did not name; each such answer covers one of the unit's unanswered places
    (the first by annotator id)."""
    done = {(a.unit_id, a.annotator_id) for a in annotations}
    filled_by_others: Counter = Counter(
        a.unit_id for a in annotations
        if a.status.value in ("ok", "extra", "invalid") and a.annotator_id not in planned.get(a.unit_id, ()))
    out = set(done)
    for unit, n in filled_by_others.items():
        waiting = sorted(x for x in planned.get(unit, ()) if (unit, x) not in done)
        out.update((unit, x) for x in waiting[:n])
    return out


class Plan:
    """The planned assignments of a campaign, changed in memory and written as one round."""

    def __init__(self, ctx: "StepContext"):
        state = ctx.state
        self.ctx = ctx
        self.honeypots = {u.id for u in state.units if u.is_gold}
        self.regular = [u.id for u in state.units if not u.is_gold]
        self.units = self.regular + sorted(self.honeypots)
        #: the share of the campaign's units that are honeypots (and of a newcomer's work)
        self.gold_ratio = len(self.honeypots) / len(self.units) if self.units else 0.0
        self.active = [a.id for a in ctx.spec.active_annotators]
        self.planned: dict[str, set[str]] = {}  # unit -> annotators planned
        self.ever: dict[str, set[str]] = {}  # unit -> annotators ever assigned (planned or cancelled)
        self.position: Counter = Counter()  # annotator -> next free queue position
        for a in state.assignments:
            self.ever.setdefault(a.unit, set()).add(a.annotator)
            if a.planned:
                self.planned.setdefault(a.unit, set()).add(a.annotator)
            self.position[a.annotator] = max(self.position[a.annotator], a.position + 1)
        self.answered = covered(self.planned, state.annotations)
        #: answers by someone who was not in the pool when they gave them (accepted since, perhaps)
        self.unpooled = sorted({(a.unit_id, a.annotator_id) for a in state.annotations
                                if a.status.value == "not_in_pool"})
        self.added: list[tuple[str, str]] = []
        self.cancelled: list[tuple[str, str, str]] = []
        self.rng = random.Random(f"{ctx.spec.seed}:round:{len(state.rounds) + 1}")

    # -- what is planned -----------------------------------------------------------------------
    def loads(self) -> dict[str, int]:
        """Units planned per active annotator (honeypots count like any other unit)."""
        out = Counter({a: 0 for a in self.active})
        for u in self.units:
            for a in self.planned.get(u, ()):
                if a in out:
                    out[a] += 1
        return out

    # -- changes -------------------------------------------------------------------------------
    def add(self, unit: str, annotator: str) -> None:
        self.planned.setdefault(unit, set()).add(annotator)
        self.ever.setdefault(unit, set()).add(annotator)
        self.added.append((unit, annotator))

    def cancel(self, unit: str, annotator: str, reason: str) -> None:
        self.planned[unit].discard(annotator)
        self.cancelled.append((unit, annotator, reason))

    def candidates(self, unit: str, loads: Counter) -> list[str]:
        """Active annotators who never had ``unit``, least loaded first (seeded tie-break)."""
        free = [a for a in self.active if a not in self.ever.get(unit, ())]
        return sorted(free, key=lambda a: (loads[a], self.rng.random()))

    def top_up(self, units: Iterable[str], target: dict[str, int]) -> int:
        """Give each unit more annotators until it has ``target[unit]`` planned; how many were added."""
        loads = self.loads()
        n = 0
        order = list(units)
        self.rng.shuffle(order)
        for u in order:
            need = target[u] - len(self.planned.get(u, ()))
            for a in self.candidates(u, loads)[:max(need, 0)]:
                self.add(u, a)
                loads[a] += 1
                n += 1
        return n

    # -- writing -------------------------------------------------------------------------------
    def write(self, kind: str, reason: str) -> int | None:
        """Record the changes as a new round (inside the caller's transaction); its number, or None."""
        store, name = self.ctx.store, self.ctx.name
        if self.cancelled:
            by_reason: dict[str, list[tuple[str, str]]] = {}
            for u, a, why in self.cancelled:
                by_reason.setdefault(why, []).append((u, a))
            for why, pairs in by_reason.items():
                work_sql.cancel_assignments(store, name, pairs, why)
        if not self.added:
            return None
        number = work_sql.add_round(store, name, kind, reason, self.ctx.spec_version, now())
        per: dict[str, list[str]] = {}
        for u, a in self.added:
            per.setdefault(a, []).append(u)
        rows = []
        for a, units in per.items():
            units = sorted(units)
            random.Random(f"{self.ctx.spec.seed}:{a}:{number}").shuffle(units)
            start = self.position[a]
            if start == 0:  # a newcomer: their calibration honeypots first
                units = calibration_first(units, gold_classes(self.ctx.state.units), self.ctx.spec.gating.calibration)
            rows += [(u, a, start + i, number) for i, u in enumerate(units)]
        work_sql.add_assignments(store, name, rows)
        return number


def reconcile(plan: Plan, overlap: int, need: dict[str, float] | None = None) -> tuple[list[str], list[str]]:
    """Bring ``plan`` in line with the pool and the overlap: what was done (the round's reason), and
    notes for the user. ``need``: each unit's agreement (lower: needs another label more)."""
    need = need or {}
    reasons, notes = [], []
    active = set(plan.active)
    # retired annotators: their unanswered work is cancelled (it goes to others below)
    gone = Counter()
    for u, who in plan.planned.items():
        for a in list(who):
            if a not in active and (u, a) not in plan.answered:
                plan.cancel(u, a, f"{a} retired")
                gone[a] += 1
    for a, n in sorted(gone.items()):
        reasons.append(f"{a} retired ({n} unanswered assignment(s) cancelled)")
    # someone accepted into the pool keeps what they labeled before: those units are planned for them
    adopted = Counter()
    units = set(plan.units)
    for u, a in plan.unpooled:
        if a in active and u in units and a not in plan.planned.get(u, ()):
            plan.ever.get(u, set()).discard(a)
            plan.add(u, a)
            adopted[a] += 1
    for a, n in sorted(adopted.items()):
        reasons.append(f"{a}: {n} unit(s) they labeled before joining the pool")
    # every unit up to the overlap (a raised overlap, or replacements for the retired)
    target = {u: max(overlap, len(plan.planned.get(u, ()))) for u in plan.units}
    topped = plan.top_up(plan.units, target)
    if topped:
        reasons.append(f"{topped} assignment(s) added to reach overlap {overlap}")
    # newcomers take over unanswered work from the busiest; if every unit is answered, they label the
    # units that need it most as one more annotator each
    newcomers = [a for a, n in plan.loads().items() if n == 0]
    moved = rebalance(plan)
    loads = plan.loads()
    extra: Counter = Counter()
    for a in newcomers:
        if loads[a] == 0 and plan.units:
            extra[a] = give_neediest(plan, a, need)
            loads = plan.loads()
    for a in plan.active:
        if moved[a] or extra[a]:
            reasons.append(f"{a}: " + ", ".join(
                ([f"{moved[a]} unanswered unit(s) moved from busier annotators"] if moved[a] else [])
                + ([f"{extra[a]} unit(s) that need it most (lowest agreement) as one more annotator"]
                   if extra[a] else [])))
    return reasons, notes


def give_neediest(plan: Plan, annotator: str, need: dict[str, float]) -> int:
    """Give a newcomer their fair share of the units that need another label most (lowest agreement
    first, then fewest annotators), honeypots among them in the campaign's proportion so the
    newcomer's queue mixes gold in like everyone's; how many they got."""
    share = round(sum(plan.loads().values()) / max(len(plan.active), 1))
    n_gold = max(round(share * plan.gold_ratio), plan.ctx.spec.gating.calibration)
    pots = sorted(u for u in plan.honeypots if annotator not in plan.ever.get(u, ()))
    plan.rng.shuffle(pots)
    pots.sort(key=lambda u: len(plan.planned.get(u, ())))
    order = [u for u in plan.regular if annotator not in plan.ever.get(u, ())]
    plan.rng.shuffle(order)
    order.sort(key=lambda u: (need.get(u, 1.0), len(plan.planned.get(u, ()))))
    picked = pots[:n_gold] + order[:share - min(n_gold, len(pots))]
    for u in picked:
        plan.add(u, annotator)
    return len(picked)


def rebalance(plan: Plan) -> Counter:
    """Newcomers (active annotators with no work yet) take over unanswered work from the busiest
    annotators, until loads differ by at most one or nothing movable is left; a newcomer takes a
    honeypot whenever their gold is below the campaign's share. How many units each newcomer
    received. Nobody else's plan is reshuffled."""
    loads = plan.loads()
    moved: Counter = Counter()
    gold: Counter = Counter()
    newcomers = [a for a in plan.active if loads[a] == 0]
    if not newcomers or len(plan.active) < 2:
        return moved
    open_by: dict[str, list[str]] = {a: [] for a in plan.active}
    for u in plan.units:
        for a in plan.planned.get(u, ()):
            if a in open_by and (u, a) not in plan.answered:
                open_by[a].append(u)
    for a in plan.active:
        plan.rng.shuffle(open_by[a])
    while True:
        low = min(newcomers, key=lambda a: (loads[a], a))
        wants_gold = gold[low] < plan.gold_ratio * (loads[low] + 1)
        for high in sorted(plan.active, key=lambda a: (-loads[a], a)):
            if loads[high] - loads[low] <= 1:
                return moved
            movable = [u for u in open_by[high] if low not in plan.ever.get(u, ())]
            pick = next((u for u in movable if (u in plan.honeypots) == wants_gold), movable[0] if movable else None)
            if pick is not None:
                break
        else:
            return moved
        open_by[high].remove(pick)
        plan.cancel(pick, high, f"moved to {low}")
        plan.add(pick, low)
        loads[high] -= 1
        loads[low] += 1
        moved[low] += 1
        gold[low] += pick in plan.honeypots


@collector_paused_in
def run(ctx: "StepContext") -> dict[str, Any]:
    """The first round, or the round that brings the plan in line with an edited spec."""
    ctx.require("assign", "plan")
    state, spec = ctx.state, ctx.spec
    active = [a.id for a in spec.active_annotators]
    round_made, notes, first = None, [], None
    with ctx.store.transaction():
        if not state.assignments:
            units = state.units
            rows = assign([u.id for u in units if not u.is_gold], [u.id for u in units if u.is_gold], active,
                          spec.overlap, spec.seed)
            rows = calibrated(rows, gold_classes(units), spec.gating.calibration)
            number = work_sql.add_round(ctx.store, ctx.name, "initial", "the first assignment", ctx.spec_version, now())
            work_sql.add_assignments(ctx.store, ctx.name, [(u, a, p, number) for u, a, p in rows])
            round_made = {"round": number, "kind": "initial", "assignments": len(rows)}
            # the campaign had no assignment: these rows are all it has, counted here (not in SQL)
            first = first_counts(rows, {u.id for u in units if u.is_gold})
        else:
            plan = Plan(ctx)
            per_unit = state.unit_agreement
            need = {u: a for u, a in zip(per_unit["unit"], per_unit["agreement"]) if a == a and a is not None}
            reasons, notes = reconcile(plan, spec.overlap, need)
            number = plan.write("spec", f"spec v{ctx.spec_version}: " + "; ".join(reasons)) if reasons else None
            if reasons:
                round_made = {"round": number, "kind": "spec", "assignments": len(plan.added),
                              "cancelled": len(plan.cancelled), "reason": "; ".join(reasons)}
        summary = summarize(ctx, round_made, first)
        if notes:
            summary["notes"] = notes
        ctx.record("assign", summary)
    return summary


def first_counts(rows: list[tuple[str, str, int]], honeypots: set[str]) -> tuple[dict[str, int], dict[str, float]]:
    """:func:`summarize`'s counts of a campaign whose only assignments are ``rows`` (its first round, every
    unit one of its own): what ``planned_per_annotator`` and ``gold_share`` give in SQL, in their order
    (by annotator id) and to the bit (an average of 0s and 1s is their exact sum over their count)."""
    per = Counter(a for _, a, _ in rows)
    gold = Counter(a for u, a, _ in rows if u in honeypots)
    loads = {a: per[a] for a in sorted(per)}
    return loads, {a: gold[a] / n for a, n in loads.items()}


def summarize(ctx: "StepContext", round_made: dict | None,
              counts: tuple[dict[str, int], dict[str, float]] | None = None) -> dict[str, Any]:
    """``counts``: :func:`first_counts` of the round just written, when it is all the campaign has."""
    if counts is not None:
        loads, share = counts
    else:
        loads = work_sql.planned_per_annotator(ctx.store, ctx.name)
        share = work_sql.gold_share(ctx.store, ctx.name)
    out = {"assignments": sum(loads.values()), "per_annotator": loads,
           "gold_share": {a: round(v, 3) for a, v in share.items()}}
    if round_made is not None:
        out["round"] = round_made
    return out


def add_round(ctx: "StepContext", units: list[str], extra: int = 1, kind: str = "more",
              reason: str | None = None) -> dict[str, Any]:
    """A round asked for by hand: ``extra`` more annotators for each of ``units`` (active annotators
    who never had the unit, least loaded first). Returns what it planned; push, simulate and pull
    then do the work as for any round."""
    ctx.require("round", "assign")
    if extra < 1:
        raise WorkbenchError(f"extra: expected 1 or more annotators per unit, got {extra}")
    known = ctx.state.units_by_id
    unknown = [u for u in units if u not in known]
    if unknown:
        raise WorkbenchError(f"unit {unknown[0]!r} is not a unit of campaign {ctx.name!r}")
    if not units:
        raise WorkbenchError(f"campaign {ctx.name!r}: no units for the new round")
    plan = Plan(ctx)
    wanted = list(dict.fromkeys(units))
    target = {u: len(plan.planned.get(u, ())) + extra for u in wanted}
    added = plan.top_up(wanted, target)
    short = [u for u in wanted if len(plan.planned.get(u, ())) < target[u]]
    why = reason or f"{extra} more annotator(s) for {len(wanted)} unit(s)"
    with ctx.store.transaction():
        number = plan.write(kind, why)
    return {"round": number, "kind": kind, "reason": why, "units": len(wanted), "assignments": added,
            "short": len(short),
            "note": (f"{len(short)} unit(s) got fewer than {extra} more: every active annotator already has them"
                     if short else None)}
