"""The agreement step: every applicable metric, the per-annotator quality table and per-unit
agreement, stored as tables that the data card and the report read back."""

from __future__ import annotations

import json
import sys
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from ..agreement import plain_number
from ..agreement.intervals import gold_accuracy_intervals, metric_intervals
from ..agreement.quality import annotator_quality
from ..agreement.report import compute_metrics, disputed_summary
from ..agreement.units import unit_agreement
from ..errors import WorkbenchError
from ..store import results as results_sql

if TYPE_CHECKING:  # pragma: no cover
    from ..aggregate.dawid_skene import StoredFit
    from ..state import CampaignState
    from . import StepContext


def run(ctx: "StepContext") -> dict[str, Any]:
    ctx.require("agreement", "aggregate")
    state = ctx.state
    schema = ctx.task_type.schema
    table, units, consensus, gold = state.table, state.units_by_id, state.consensus, state.honeypot_gold
    from ..table.encode import shared_codes

    with shared_codes():  # every metric, the quality table and the intervals code the table once
        metrics = compute_metrics(ctx.registry, schema, table, ctx.spec.metrics, details=True, units=units,
                                  consensus=consensus, gold=gold)
        quality = annotator_quality(table, schema, gold, consensus, units=units, stored_fit=_stored_fit(ctx))
        per_unit = unit_agreement(table, schema, consensus)
        seed = ctx.spec.seed
        ci = {name: iv.as_list() for name, iv in metric_intervals(ctx.registry, schema, table, metrics, units=units,
                                                                  seed=seed).items()}
        gold_ci = {a: iv.as_list() for a, iv in gold_accuracy_intervals(table, schema, gold,
                                                                        list(quality["annotator"]),
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
    unit_rows = _unit_rows(per_unit)
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


def _stored_fit(ctx: "StepContext") -> "StoredFit | None":
    """The consensus's Dawid-Skene posteriors as the aggregate step stored them, when the quality
    table's fit would be that very fit: the built-in ``dawid_skene`` with its default options, on the
    annotations as they are now (the same revision), no model sources and no gold (no honeypot to
    clamp then or now: the plan, the only writer of gold, ran before it). None otherwise, and when a
    stored row is not Dawid-Skene's or has no posteriors: the quality table then fits it again."""
    from ..aggregate.choose import _is_builtin_ds
    from ..aggregate.dawid_skene import StoredFit

    state, schema = ctx.state, ctx.task_type.schema
    steps = state.steps
    agg, plan = steps.get("aggregate"), steps.get("plan")
    inputs = (agg or {}).get("inputs") or {}
    if (not schema.categorical or agg is None or plan is None or agg["seq"] <= plan["seq"]
            or agg["summary"].get("method") != "dawid_skene" or inputs.get("method") not in ("auto", "dawid_skene")
            or inputs.get("options") or inputs.get("models") is not None
            or inputs.get("annotations_rev") != state.annotations_rev):
        return None
    try:
        if not _is_builtin_ds(ctx.registry.get("aggregators", "dawid_skene").func):
            return None
    except WorkbenchError:
        return None
    if any(u.is_gold for u in state.units):
        return None
    units: list[str] = []
    counts, posteriors = [np.zeros(0, dtype=np.int64)], []
    classes = None
    unit_of, count_of, method_of, text_of = (itemgetter(i) for i in range(4))
    for block in results_sql.posterior_blocks(ctx.store, ctx.name):
        texts = list(map(text_of, block))
        if set(map(method_of, block)) != {"dawid_skene"} or None in texts:
            return None
        decoded = json.loads("[" + ",".join(texts) + "]")
        if classes is None:
            classes = list(decoded[0])
        if not classes or set(map(tuple, decoded)) != {tuple(classes)}:  # every row the same classes, in order
            return None
        units += map(sys.intern, map(unit_of, block))  # the table's own strings: no copy per unit
        counts.append(np.fromiter(map(count_of, block), dtype=np.int64, count=len(block)))
        posteriors.append(np.array(list(map(list, map(dict.values, decoded))), dtype=float))
    if classes is None:
        return None
    return StoredFit(units, np.concatenate(counts), np.concatenate(posteriors), classes)


def _unit_rows(per_unit) -> list[tuple]:
    """The ``unit_agreement`` rows (unit, annotations, agreement, consensus share, disputed) from the
    per-unit frame's columns: plain ints and floats, None for NaN (as :func:`plain_number`)."""
    def plain(column: str) -> list:
        values = per_unit[column]
        if values.dtype.kind != "f":  # objects (None, numbers): one at a time
            return [plain_number(v) for v in values]
        return [None if v != v else v for v in values.tolist()]

    n = [int(v) for v in per_unit["n_annotations"].tolist()]
    disputed = [int(bool(v)) for v in per_unit["disputed"].tolist()]
    return list(zip(per_unit["unit"].tolist(), n, plain("agreement"), plain("consensus_share"), disputed))


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
