"""The aggregate step: pick the method, run it on the campaign's table, store one label per unit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError
from ..models import LabelKind, label_key, with_long_columns
from . import AggregateResult

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign

#: ``auto`` uses Dawid-Skene when every annotator has at least this many labels
AUTO_MIN_LABELS = 20


def choose_method(registry, schema, table, requested: str) -> tuple[str, str | None]:
    """The method to run and, for ``auto``, a note saying what it picked and why.

    ``auto``: span tasks use the token-level ``spans`` vote; other tasks use ``dawid_skene`` when
    there are two or more annotators and each has at least :data:`AUTO_MIN_LABELS` labels (enough
    to estimate a confusion matrix), else ``majority``.
    """
    if requested != "auto":
        return requested, None
    names = registry.names("aggregators")
    if schema.kind is LabelKind.SPANS:
        pick = "spans" if "spans" in names else "majority"
        return pick, f"auto: picked {pick} (span task)"
    per = table.groupby("annotator", sort=False).size() if len(table) else None
    if "dawid_skene" not in names:
        why = "not installed"
    elif per is None or len(per) < 2:
        why = "needs two or more annotators"
    elif per.min() < AUTO_MIN_LABELS:
        why = f"annotator {per.idxmin()!r} has {int(per.min())} label(s), fewer than {AUTO_MIN_LABELS}"
    else:
        return "dawid_skene", (f"auto: picked dawid_skene ({len(per)} annotators, each with >= "
                               f"{AUTO_MIN_LABELS} labels)")
    return "majority", f"auto: picked majority (dawid_skene: {why})"


def aggregate_table(registry, schema, table, method: str, gold=None, units=None, **options) -> AggregateResult:
    if table.empty:
        raise WorkbenchError("nothing to aggregate: the label table is empty")
    table = with_long_columns(table)
    if method == "auto" and options:
        raise WorkbenchError(f"aggregate options ({', '.join(sorted(options))}) need an explicit method: "
                             "`auto` may pick one that does not know them")
    method, note = choose_method(registry, schema, table, method)
    agg = registry.get("aggregators", method)
    if schema.kind not in agg.kinds:
        kinds = ", ".join(sorted(k.value for k in agg.kinds))
        raise WorkbenchError(f"aggregator {method!r} works on {kinds} labels, not {schema.kind.value}")
    result = agg.func(table, schema, gold=gold, units=units, **options)
    if note:
        result.notes.insert(0, note)
    return result


def gold_accuracy(labels: dict, gold: dict, spans: bool) -> dict[str, Any] | None:
    """How often the consensus matches gold (exact for choices; span micro-F1 for spans)."""
    from ..agreement.quality import _score
    import pandas as pd

    common = [u for u in gold if u in labels]
    if not common:
        return None
    got = pd.Series([labels[u] for u in common])
    ref = pd.Series([gold[u] for u in common])
    return {"n": len(common), "accuracy": _score(got, ref, spans)}


def run_aggregation(campaign: "Campaign", method: str, options: dict) -> dict[str, Any]:
    from ..agreement.units import unit_agreement

    schema = campaign.task_type.schema
    table = campaign.table()
    if table.empty:
        raise WorkbenchError(f"campaign {campaign.name!r}: no annotations to aggregate yet (run `pull`)")
    units = {u.id: u for u in campaign.units()}
    honeypots = campaign.honeypot_gold(units.values())
    result = aggregate_table(campaign.registry, schema, table, method, gold=honeypots, units=units, **options)
    # per-unit agreement (pairwise share; span tasks: pooled pairwise span F1), for export filters
    per_unit = dict(unit_agreement(table, schema)[["unit", "agreement"]].itertuples(index=False))
    labels = dict(zip(result.labels["unit"], result.labels["label"]))
    spans = schema.kind is LabelKind.SPANS
    held_out = {u: x.gold_label for u, x in units.items() if x.gold_label is not None and not x.is_gold}
    all_gold = {u: x.gold_label for u, x in units.items() if x.gold_label is not None}
    # one dict per unit, built once: a .loc lookup per unit is the slow part on big campaigns
    posteriors = {} if result.posteriors is None else result.posteriors.to_dict("index")
    ties = set(result.ties)
    db = campaign.store.conn
    with campaign.store.transaction():
        db.execute("DELETE FROM aggregates WHERE campaign=?", (campaign.name,))
        db.executemany("INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (campaign.name, u, label_key(lab), float(conf), int(n), per_unit.get(u), result.method,
             json.dumps({str(k): float(v) for k, v in posteriors[u].items()}) if u in posteriors else None,
             int(u in ties))
            for u, lab, conf, n in result.labels[["unit", "label", "confidence", "n_annotations"]].itertuples(
                index=False)
        ])
        summary = {
            "method": result.method, "units": len(labels), "annotations": int(len(table)),
            "ties": len(ties), "notes": result.notes,
            "accuracy_held_out_gold": gold_accuracy(labels, held_out, spans),
            "accuracy_all_gold": gold_accuracy(labels, all_gold, spans),
        }
        campaign.store.record_step(campaign.name, "aggregate", summary)
    return summary
