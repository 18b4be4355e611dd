"""The agreement step: every applicable metric, the per-annotator quality table and per-unit
agreement, stored as tables that the data card and the report read back."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..agreement import plain_number
from ..agreement.intervals import gold_accuracy_intervals, metric_intervals
from ..agreement.quality import annotator_quality
from ..agreement.report import compute_metrics, disputed_summary
from ..agreement.units import unit_agreement
from ..store import results as results_sql

if TYPE_CHECKING:  # pragma: no cover
    from ..state import CampaignState
    from . import StepContext


def run(ctx: "StepContext") -> dict[str, Any]:
    ctx.require("agreement", "aggregate")
    state = ctx.state
    schema = ctx.task_type.schema
    table, units, consensus, gold = state.table, state.units_by_id, state.consensus, state.honeypot_gold
    metrics = compute_metrics(ctx.registry, schema, table, ctx.spec.metrics, details=True, units=units,
                              consensus=consensus, gold=gold)
    quality = annotator_quality(table, schema, gold, consensus, units=units)
    per_unit = unit_agreement(table, schema, consensus)
    seed = ctx.spec.seed
    ci = {name: iv.as_list() for name, iv in metric_intervals(ctx.registry, schema, table, metrics, units=units,
                                                              seed=seed).items()}
    gold_ci = {a: iv.as_list() for a, iv in gold_accuracy_intervals(table, schema, gold, list(quality["annotator"]),
                                                                    seed=seed).items()}
    metric_rows = [(name, i, m["value"], m["note"], json.dumps(m["detail"]) if m.get("detail") is not None else None,
                    *(ci.get(name) or (None, None)))
                   for i, (name, m) in enumerate(metrics.items())]
    quality_rows = [(q["annotator"], int(q["n_annotations"]), int(q["gold_n"]), plain_number(q["gold_accuracy"]),
                     plain_number(q["consensus_agreement"]), plain_number(q["ds_accuracy"]),
                     plain_number(q["spammer_score"]), json.dumps(list(q["flags"] or [])),
                     json.dumps(q["confusion"]) if q["confusion"] is not None else None,
                     *(gold_ci.get(q["annotator"]) or (None, None)))
                    for q in quality.to_dict("records")]
    unit_rows = [(u, int(n), plain_number(a), plain_number(c), int(bool(d)))
                 for u, n, a, c, d in per_unit[["unit", "n_annotations", "agreement", "consensus_share",
                                                "disputed"]].itertuples(index=False)]
    with ctx.store.transaction():
        results_sql.replace_agreement(ctx.store, ctx.name, metric_rows, quality_rows, unit_rows)
        summary = {
            "metrics": {name: {"value": m["value"], "interval": ci.get(name), "note": m["note"]}
                        for name, m in metrics.items()},
            "annotators": len(quality_rows),
            "flagged": sorted(q[0] for q in quality_rows if json.loads(q[7])),
            "disputed": int(per_unit["disputed"].sum()) if len(per_unit) else 0,
        }
        ctx.record("agreement", summary, inputs={"aggregate": state.steps["aggregate"]["seq"]})
    return summary


def stored_report(state: "CampaignState") -> dict[str, Any]:
    """The agreement report as the step stored it: metrics (with their matrices), the annotator
    quality rows and the disputed units; the shape of :func:`workbench.agreement.report.agreement_report`."""
    metrics = {}
    for name, m in state.metrics.items():
        entry = {"value": m["value"], "interval": m.get("interval"), "note": m["note"]}
        if m["detail"] is not None:
            entry["detail"] = m["detail"]
        metrics[name] = entry
    return {"metrics": metrics, "annotators": state.quality, "disputed": disputed_summary(state.unit_agreement)}
