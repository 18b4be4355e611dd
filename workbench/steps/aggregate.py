"""The aggregate step: pick the method, run it on the campaign's long table, store one label per unit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..aggregate.choose import aggregate_table, gold_accuracy
from ..agreement.units import unit_agreement
from ..errors import WorkbenchError
from ..models import LabelKind, label_key
from ..store import results as results_sql

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


def run(ctx: "StepContext", method: str | None = None, **options) -> dict[str, Any]:
    """Aggregate with the spec's method and options, or with ``method`` and its own defaults
    (``options`` given here apply to it)."""
    ctx.require("aggregate", "pull")
    spec, state = ctx.spec, ctx.state
    if method is None or method == spec.aggregate_method:
        method, options = spec.aggregate_method, {**spec.aggregate_options, **options}
    schema = ctx.task_type.schema
    table = state.table
    if table.empty:
        raise WorkbenchError(f"campaign {ctx.name!r}: no annotations to aggregate yet (run `pull`)")
    units = state.units_by_id
    result = aggregate_table(ctx.registry, schema, table, method, gold=state.honeypot_gold, units=units, **options)
    # per-unit agreement (pairwise share; span tasks: pooled pairwise span F1), for export filters
    per_unit = dict(unit_agreement(table, schema)[["unit", "agreement"]].itertuples(index=False))
    labels = dict(zip(result.labels["unit"], result.labels["label"]))
    spans = schema.kind is LabelKind.SPANS
    # one dict per unit, built once: a .loc lookup per unit is the slow part on big campaigns
    posteriors = {} if result.posteriors is None else result.posteriors.to_dict("index")
    if "span_scores" in result.labels:  # span methods that score each span: {"start:end:label": score}
        posteriors = {u: {f"{s.start}:{s.end}:{s.label}": x for s, x in zip(lab, sc)}
                      for u, lab, sc in result.labels[["unit", "label", "span_scores"]].itertuples(index=False)}
    ties = set(result.ties)
    rows = [(u, label_key(lab), float(conf), int(n), per_unit.get(u), result.method,
             json.dumps({str(k): float(v) for k, v in posteriors[u].items()}) if u in posteriors else None,
             int(u in ties))
            for u, lab, conf, n in result.labels[["unit", "label", "confidence", "n_annotations"]].itertuples(
                index=False)]
    with ctx.store.transaction():
        results_sql.replace_aggregates(ctx.store, ctx.name, rows)
        summary = {
            "method": result.method, "units": len(labels), "annotations": int(len(table)),
            "ties": len(ties), "notes": result.notes,
            "accuracy_held_out_gold": gold_accuracy(labels, state.held_out_gold, spans),
            "accuracy_all_gold": gold_accuracy(labels, state.gold, spans),
        }
        ctx.record("aggregate", summary, inputs={"annotations_rev": state.annotations_rev, "method": method,
                                                "options": options})
    return summary
