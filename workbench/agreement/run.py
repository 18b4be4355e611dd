"""The agreement step: every applicable metric, and the per-annotator quality table."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from .quality import annotator_quality

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign


def _clean(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 6)


def compute_metrics(registry, schema, table, names=(), **kw) -> dict[str, dict]:
    metrics = registry.all("metrics")
    chosen = names or [n for n, m in metrics.items() if schema.kind in m.kinds]
    out = {}
    for name in chosen:
        res = registry.get("metrics", name).func(table, schema, **kw)
        out[name] = {"value": _clean(res.value), "note": res.note}
    return out


def run_agreement(campaign: "Campaign") -> dict[str, Any]:
    schema = campaign.task_type.schema
    table = campaign.table()
    consensus = {
        r[0]: schema.normalize(json.loads(r[1]))
        for r in campaign.store.all("SELECT unit_id, label_json FROM aggregates WHERE campaign=?", campaign.name)
    }
    units = {u.id: u for u in campaign.units()}
    honeypots = campaign.honeypot_gold()
    metrics = compute_metrics(campaign.registry, schema, table, campaign.spec.metrics,
                              units=units, consensus=consensus, gold=honeypots)
    quality = annotator_quality(table, schema, honeypots, consensus)
    quality_rows = [{k: (_clean(v) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in quality.to_dict("records")]
    with campaign.store.transaction():
        summary = {"metrics": metrics, "annotators": quality_rows}
        campaign.store.record_step(campaign.name, "agreement", summary)
    return summary
