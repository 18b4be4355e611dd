"""The review step: send the units that need it to the review queue, let simulated reviewers answer,
bring the verdicts back (see :mod:`workbench.review`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..models import LabelError, label_key
from ..review import RawVerdict, ReviewTask, assign_reviewers, is_spans, read, require_review, select, summary_facts
from ..simulate import SimulatedAnnotator
from ..store import now
from ..store import review as review_sql
from .export import names

if TYPE_CHECKING:  # pragma: no cover
    from ..review import Review
    from . import StepContext


def display_names(pseudonym_of: dict[str, str], voters: list[str]) -> dict[str, str]:
    """``annotator A``, ``annotator B``... per unit, in pseudonym order: a reviewer sees who agreed
    with whom, never who they are."""
    ordered = sorted(voters, key=lambda a: pseudonym_of.get(a, a))
    return {a: f"annotator {chr(ord('A') + i) if i < 26 else i + 1}" for i, a in enumerate(ordered)}


def tasks_for(ctx: "StepContext", reviews: list["Review"]) -> list[ReviewTask]:
    state = ctx.state
    units = state.units_by_id
    agg = {r["unit_id"]: r for r in state.aggregates}
    votes: dict[str, list] = {}
    for a in state.annotations:
        if a.status.value == "ok" and a.label is not None:
            votes.setdefault(a.unit_id, []).append(a)
    pseudonym_of = names(ctx)
    out = []
    for r in reviews:
        unit_votes = votes.get(r.unit_id, [])
        shown = display_names(pseudonym_of, [a.annotator_id for a in unit_votes])
        row = agg.get(r.unit_id)
        out.append(ReviewTask(unit=units[r.unit_id], reviewer=r.reviewer, round=r.round, consensus=r.consensus,
                              confidence=float(row["confidence"]) if row else 0.0,
                              votes=tuple(sorted(((shown[a.annotator_id], a.label) for a in unit_votes),
                                                 key=lambda v: v[0])),
                              reasons=r.reasons))
    return out


def apply_verdicts(ctx: "StepContext", verdicts: list[RawVerdict]) -> dict[str, int]:
    """Store the verdicts (inside the caller's transaction): each checked by the task type; a verdict by
    a reviewer the unit was not planned for takes an unanswered place of that unit (Label Studio gives a
    task to whoever asks first)."""
    tt, units = ctx.task_type, ctx.state.units_by_id
    reviews = read(ctx.store, ctx.name, tt.schema)
    by_pair = {(r.unit_id, r.reviewer): r for r in reviews}
    counts = Counter({"verdicts": 0, "new": 0, "invalid": 0, "skipped": 0})
    rows = []
    for v in sorted(verdicts, key=lambda v: (v.answered_at or "", v.unit_id, v.reviewer)):
        unit = units.get(v.unit_id)
        if unit is None:
            counts["invalid"] += 1
            continue
        if v.skipped:
            counts["skipped"] += 1
            continue
        try:
            label = tt.from_ls_result(v.result or [], unit)
        except (LabelError, KeyError, TypeError, ValueError):
            counts["invalid"] += 1
            continue
        r = by_pair.get((v.unit_id, v.reviewer))
        if r is None:
            open_ = sorted((x for (u, _), x in by_pair.items() if u == v.unit_id and x.label is None),
                           key=lambda x: x.reviewer)
            if not open_:
                counts["invalid"] += 1  # a unit never sent to review, or with every place answered
                continue
            r = open_[0]
            old = r.reviewer
            review_sql.reassign(ctx.store, ctx.name, r.unit_id, old, v.reviewer)
            del by_pair[(r.unit_id, old)]
            r = replace(r, reviewer=v.reviewer)
            by_pair[(r.unit_id, v.reviewer)] = r
            # the place swaps: one of the answering reviewer's own open places goes to the one it was planned
            # for, so each reviewer keeps their share (a person's share is not used up by a simulated reviewer)
            swap = sorted((x for (u, who), x in by_pair.items() if who == v.reviewer and x.label is None
                           and u != v.unit_id and (u, old) not in by_pair), key=lambda x: x.unit_id)
            if swap:
                review_sql.reassign(ctx.store, ctx.name, swap[0].unit_id, v.reviewer, old)
                del by_pair[(swap[0].unit_id, v.reviewer)]
                by_pair[(swap[0].unit_id, old)] = replace(swap[0], reviewer=old)
        key = label_key(label)
        if r.label is not None and label_key(r.label) == key:
            counts["verdicts"] += 1
            continue
        counts["new"] += r.label is None
        counts["verdicts"] += 1
        rows.append((key, int(label != r.consensus), v.answered_at or now(), r.unit_id, v.reviewer))
        by_pair[(r.unit_id, v.reviewer)] = replace(r, label=label)
    review_sql.answer(ctx.store, ctx.name, rows)
    return dict(counts)


def run(ctx: "StepContext", pull_only: bool = False) -> dict[str, Any]:
    """One review round: pull the verdicts given so far, send the units that newly need review, let the
    simulated reviewers answer, pull again. ``pull_only``: only bring the verdicts back."""
    review = require_review(ctx.spec)
    ctx.require("review", "agreement")
    backend = ctx.backend
    tt = ctx.task_type
    with ctx.store.transaction():
        pulled = apply_verdicts(ctx, backend.pull_review())
    sent: list[str] = []
    made = 0
    if not pull_only:
        reviews = read(ctx.store, ctx.name, tt.schema)
        asked = {r.unit_id for r in reviews}
        wanted = {u: why for u, why in select(ctx.state, review).items() if u not in asked}
        round_ = review_sql.last_round(ctx.store, ctx.name) + (1 if wanted else 0)
        consensus = ctx.state.consensus
        load = Counter(r.reviewer for r in reviews)
        pairs = assign_reviewers(list(wanted), [r.id for r in review.reviewers], review.per_unit, ctx.spec.seed,
                                 round_, load)
        stamp = now()
        with ctx.store.transaction():
            review_sql.request(ctx.store, ctx.name, [
                (u, who, round_, json.dumps(wanted[u]), label_key(consensus[u]), stamp) for u, who in pairs])
        sent = list(wanted)
        reviews = read(ctx.store, ctx.name, tt.schema)
        open_ = [r for r in reviews if r.label is None]
        tasks = tasks_for(ctx, open_)
        if tasks:
            ids = backend.push_review(tasks)
            with ctx.store.transaction():
                review_sql.set_tasks(ctx.store, ctx.name, ids)
        simulated = [SimulatedAnnotator(r.id, ctx.registry.get("annotators", r.persona))
                     for r in review.reviewers if r.simulated and r.persona]
        if simulated and tasks:
            references = {t.unit.id: t.unit.gold_label if t.unit.gold_label is not None else
                          (ctx.state.prelabels[t.unit.id].label if t.unit.id in ctx.state.prelabels else None)
                          for t in tasks}
            made = backend.simulate_review(simulated, tasks, references, ctx.spec.seed)
            with ctx.store.transaction():
                more = apply_verdicts(ctx, backend.pull_review())
            pulled = {k: pulled.get(k, 0) + more.get(k, 0) for k in set(pulled) | set(more)}
    reviews = read(ctx.store, ctx.name, tt.schema)
    facts = summary_facts(ctx.state, reviews, is_spans(tt.schema))
    summary = {"round": facts["rounds"], "sent_now": len(sent), "verdicts_made": made,
               "new_verdicts": pulled.get("new", 0), "invalid_verdicts": pulled.get("invalid", 0), **facts}
    people = [r.email for r in review.reviewers if r.email]
    notes = backend.review_notes(people) if people and facts["pending"] else []
    if notes:
        summary["notes"] = notes
    with ctx.store.transaction():
        ctx.record("review", summary)
    return summary

