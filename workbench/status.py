"""The status view of a campaign: progress per step, per annotator and per round, the spec's versions,
quarantined annotations, gating (exclusions with their reasons, suspect gold). Read-only: built from the read model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .gating import gold_health
from .redundancy import progress as redundancy_progress
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
    for aid, n in work_sql.planned_per_annotator(db, name).items():
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
    return {"campaign": name, "task_type": spec.task_type, "backend": spec.backend, "units": len(state.units),
            "spec_version": versions[-1]["version"] if versions else None, "versions": versions,
            "rounds": rounds, "steps": steps,
            "redundancy": redundancy_progress(spec.redundancy, rounds, work_sql.planned_per_unit(db, name),
                                              state.step("redundancy")), "annotators": per, "quarantined": quarantined,
            "gating": gating_view}
