"""The status view of a campaign: progress per step, per annotator and per round, the spec's versions,
quarantined annotations, gating (exclusions with their reasons, suspect gold). Read-only: built from the read model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .gating import gold_health
from .redundancy import progress as redundancy_progress
from .store import corpus as corpus_sql
from .store import labels as labels_sql
from .store import work as work_sql

if TYPE_CHECKING:  # pragma: no cover
    from .spec import CampaignSpec
    from .state import CampaignState

STEPS = ("plan", "assign", "push", "simulate", "pull", "aggregate", "agreement", "export")


def _row(kind: str, persona: str | None = None, status: str = "active") -> dict[str, Any]:
    return {"kind": kind, "persona": persona, "status": status, "assigned": 0, "ok": 0, "skipped": 0,
            "invalid": 0, "extra": 0, "not_in_pool": 0, "excluded": 0}


def status(spec: "CampaignSpec", state: "CampaignState") -> dict[str, Any]:
    db, name = state.store, state.name
    steps = {}
    for step in STEPS:
        row = state.steps.get(step)
        steps[step] = {"done": row is not None, "finished_at": row["finished_at"] if row else None,
                       "summary": row["summary"] if row else None}
    per: dict[str, dict[str, Any]] = {}
    for a in state.pool:
        per[a.id] = _row("simulated" if a.simulated else "person", a.persona, a.status)
    for a in spec.annotators:  # a spec not applied yet (status of a file) still names its pool
        per.setdefault(a.id, _row("simulated" if a.simulated else "person", a.persona,
                                  "retired" if a.retired else "active"))
    for aid, n in state.planned_per_annotator.items():
        per.setdefault(aid, _row("unknown"))["assigned"] = n
    for aid, st, n in labels_sql.per_annotator(db, name):
        per.setdefault(aid, _row("not in the pool", status="not counted"))[st] = n
    quarantined = [{"unit": r[0], "annotator": r[1], "reason": r[2]} for r in labels_sql.quarantined(db, name)]
    rounds = [{k: r[k] for k in ("round", "kind", "reason", "spec_version", "created_at", "units", "assignments",
                                  "answered", "cancelled")} for r in state.rounds]
    info = gold_health(state, spec)
    for e in info["excluded"]:
        per.setdefault(e["annotator"], _row("unknown"))["status"] = "excluded"
    gating_view = {k: info[k] for k in ("enabled", "excluded", "events", "excluded_labels", "suspect_gold",
                                        "overexposed", "max_exposure")}
    versions = state.versions
    return {"campaign": name, "task_type": spec.task_type, "backend": spec.backend, "units": corpus_sql.count(db, name),
            "spec_version": versions[-1]["version"] if versions else None, "versions": versions,
            "rounds": rounds, "steps": steps,
            "redundancy": redundancy_view(spec, state, rounds), "annotators": per, "quarantined": quarantined,
            "gating": gating_view, "coverage": coverage(spec, state)}


def redundancy_view(spec: "CampaignSpec", state: "CampaignState",
                    rounds: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The ``[redundancy]`` progress (rounds, annotations spent, units per number of annotators)."""
    if spec.redundancy is None:
        return None
    if rounds is None:  # read now (the state may predate the run's last round)
        rounds = work_sql.rounds(state.store, state.name)
    return redundancy_progress(spec.redundancy, rounds, work_sql.planned_per_unit(state.store, state.name),
                               state.step("redundancy"))


def coverage(spec: "CampaignSpec", state: "CampaignState") -> dict[str, Any]:
    """Units against their plan: those with more answers than planned places (the extra ones are kept,
    not counted) and those with fewer counted answers than planned places, split by whose places are
    open: the simulated crowd's (after ``simulate``, a gap to repair: ``simulate`` again, then
    ``pull``) or people's (their work still to come)."""
    crowd = {a.id for a in spec.active_annotators if a.simulated}
    db, name = state.store, state.name
    # counted in SQL: a million assignments and annotations as objects took seconds
    units_over, extra = labels_sql.extra_counts(db, name)
    crowd_units, crowd_places, people_units, people_places = 0, 0, 0, 0
    for short, crowd_open in work_sql.short_units(db, name, crowd):
        theirs = min(short, crowd_open)
        crowd_units += theirs > 0
        crowd_places += theirs
        people_units += short > theirs
        people_places += short - theirs
    return {"units_over": units_over, "extra": extra, "units_short_crowd": crowd_units,
            "open_crowd_places": crowd_places, "units_short_people": people_units,
            "open_people_places": people_places,
            # the crowd has worked (a `simulate` killed half way records no step, but its answers are pulled)
            "simulated": state.step("simulate") is not None or labels_sql.any_by(db, name, crowd)}


def coverage_lines(name: str, cov: dict[str, Any]) -> list[str]:
    """``workbench status``'s warnings about units below or above their plan (none when all is as planned)."""
    out = []
    if cov["units_over"]:
        out.append(f"warning: {cov['units_over']} unit(s) have more answers than their plan ({cov['extra']} extra "
                   "answer(s), kept but not counted)")
    if cov["simulated"] and cov["units_short_crowd"]:
        out.append(f"warning: {cov['units_short_crowd']} unit(s) are below their plan: {cov['open_crowd_places']} "
                   f"place(s) of the simulated crowd have no answer (`workbench simulate {name}` then "
                   f"`workbench pull {name}` fill them)")
    if cov["units_short_people"]:
        out.append(f"{cov['units_short_people']} unit(s) wait for people: {cov['open_people_places']} place(s) "
                   "not answered yet")
    return out
