"""What the data card says, gathered from the campaign's stored state (pure reads, no clock).

Agreement figures come from the registered metrics (every one that applies to the label kind), for
the whole campaign and for the exported units only; per-annotator figures from the quality table.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..agreement import plain_number
from ..models import LabelKind

from .records import REVIEW_REASONS, annotator_pseudonyms
from .settings import SPLITS, ExportSettings
from .split import strata

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign


def metric_figures(campaign: "Campaign", table, units: dict, consensus: dict, honeypots: dict,
                   unit_ids: set[str] | None = None) -> dict[str, dict]:
    """``{metric: {value, note}}`` for the campaign's metrics (default: every registered one that
    applies), on all or some units, to 4 places; a metric that raises is noted, not fatal."""
    from ..agreement.run import compute_metrics

    if unit_ids is not None:
        table = table[table["unit"].isin(unit_ids)]
    return compute_metrics(campaign.registry, campaign.task_type.schema, table, campaign.spec.metrics, digits=4,
                           errors="note", units=units, consensus=consensus, gold=honeypots)


def annotator_rows(campaign: "Campaign", table, records: list[dict], consensus: dict,
                   honeypots: dict) -> list[dict[str, Any]]:
    """Per annotator, under their pseudonym: kind, labels made, labels exported, quality."""
    from ..agreement.quality import annotator_quality

    names = annotator_pseudonyms(campaign)
    spec = {a.id: a for a in campaign.spec.annotators}
    quality = annotator_quality(table, campaign.task_type.schema, honeypots, consensus)
    by_id = {row["annotator"]: row for row in quality.to_dict("records")}
    exported = Counter(v["annotator"] for r in records for v in r["votes"])
    rows = []
    for aid, pseudo in names.items():
        a = spec.get(aid)
        q = by_id.get(aid, {})
        kind = "unknown (not in the spec)" if a is None else (f"simulated: {a.persona}" if a.simulated else "person")
        rows.append({
            "annotator": pseudo, "kind": kind, "labels": int(q.get("n_annotations", 0) or 0),
            "labels_exported": exported.get(pseudo, 0),
            "gold_n": int(q.get("gold_n", 0) or 0), "gold_accuracy": plain_number(q.get("gold_accuracy"), 4),
            "consensus_agreement": plain_number(q.get("consensus_agreement"), 4),
        })
    return sorted(rows, key=lambda r: r["annotator"])


def split_counts(records: list[dict]) -> dict[str, dict[str, Any]]:
    """Per split (or ``all``): documents, units and counts per label (spans: per span label)."""
    out: dict[str, dict[str, Any]] = {}
    for name in [*SPLITS, None]:
        rows = [r for r in records if r["split"] == name]
        if not rows:
            continue
        out[name or "all"] = {
            "documents": len({r["document_id"] for r in rows}), "units": len(rows),
            "labels": dict(sorted(Counter(k for r in rows for k in strata(r["label"])).items())),
        }
    return out


def gather(campaign: "Campaign", settings: ExportSettings, all_records: list[dict], records: list[dict],
           filter_log: list[dict], split_notes: list[str], files: list[dict]) -> dict[str, Any]:
    from ..campaign import plugin_info

    store, name, spec = campaign.store, campaign.name, campaign.spec
    tt = campaign.task_type
    table = campaign.table()
    exported_ids = {r["unit_id"] for r in records}
    docs = campaign.documents()
    plugin, version = plugin_info(campaign)
    per_doc = Counter(r["document_id"] for r in records)
    units = {u.id: u for u in campaign.units()}
    consensus, honeypots = campaign.consensus(), campaign.honeypot_gold(units.values())
    annotators = annotator_rows(campaign, table, records, consensus, honeypots)
    return {
        "campaign": name, "description": spec.description, "as_of": records[0]["exported_at"] if records else None,
        "task_type": spec.task_type, "task_description": tt.description, "instructions": tt.instructions,
        "kind": tt.schema.kind.value, "spans": tt.schema.kind is LabelKind.SPANS, "labels": list(tt.schema.labels),
        "plugin": plugin, "plugin_version": version, "backend": spec.backend, "overlap": spec.overlap,
        "gold_rate": spec.gold_rate,
        "documents": [{"id": d.id, "title": d.title, "source": d.source, "units": per_doc.get(d.id, 0)}
                      for d in sorted(docs.values(), key=lambda d: d.id)],
        "plan": store.step_summary(name, "plan") or {}, "aggregate": store.step_summary(name, "aggregate") or {},
        "annotators": annotators,
        "simulated": sum(1 for a in spec.annotators if a.simulated), "people": sum(1 for a in spec.annotators
                                                                                   if not a.simulated),
        "metrics_all": metric_figures(campaign, table, units, consensus, honeypots),
        "metrics_exported": metric_figures(campaign, table, units, consensus, honeypots, exported_ids),
        "settings": settings.as_dict(), "aggregated": len(all_records), "exported": len(records),
        "filters": filter_log,
        "review": {reason: sum(reason in r["review_reasons"] for r in records) for reason in REVIEW_REASONS},
        "flagged": sum(r["review"] for r in records),
        "splits": split_counts(records), "split_notes": split_notes, "files": files,
    }
