"""An agreement report from a long table: every applicable metric, the per-annotator quality table,
disputed units (the agreement step stores it; ``workbench agreement FILE`` prints it)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import plain_number
from .intervals import EarlyIntervals, gold_accuracy_intervals, metric_intervals, start_intervals
from .quality import Thresholds, annotator_quality
from .units import DISPUTED_BELOW, unit_agreement

#: at most this many disputed units are listed in a step summary (all are counted)
MAX_LISTED = 200


def jsonable_detail(detail: Any) -> Any:
    """A metric's detail as plain JSON: matrices as {row: {column: value}}, NaN as None."""
    if detail is None:
        return None
    if isinstance(detail, pd.DataFrame):
        if list(detail.index) == list(detail.columns):  # an annotator pair matrix
            return {str(r): {str(c): plain_number(v, 6) for c, v in row.items()} for r, row in detail.iterrows()}
        return [{k: plain_number(v, 6) for k, v in rec.items()} for rec in detail.head(MAX_LISTED).to_dict("records")]
    if isinstance(detail, pd.Series):
        return {str(k): plain_number(v, 6) for k, v in detail.items()}
    return detail


def compute_metrics(registry, schema, table, names=(), details: bool = False, digits: int = 6,
                    errors: str = "raise", **kw) -> dict[str, dict]:
    """``{metric: {value, note}}`` for the named metrics (default: every one that applies to the
    task's label kind); a named one that does not apply gets value None and a note saying so.

    ``errors="note"`` records a metric that raises as not computed instead of failing (the data
    card survives an outside metric's bug); the agreement step lets the error through.
    """
    metrics = registry.all("metrics")
    chosen = names or [n for n, m in metrics.items() if schema.kind in m.kinds]
    out = {}
    for name in chosen:
        metric = registry.get("metrics", name)
        if schema.kind not in metric.kinds:
            out[name] = {"value": None, "note": f"does not apply to {schema.kind.value} labels"}
            continue
        try:
            with registry.guard("metrics", name, "computing"):
                res = metric.func(table, schema, **kw)
        except Exception as exc:
            if errors != "note":
                raise
            cause = exc.__cause__ or exc
            out[name] = {"value": None, "note": f"not computed: {type(cause).__name__}: {cause}"}
            continue
        entry = {"value": plain_number(res.value, digits), "note": res.note}
        if details and res.detail is not None and name not in ("percent_agreement", "disputed_units"):
            entry["detail"] = jsonable_detail(res.detail)
        out[name] = entry
    return out


def quality_rows(quality: pd.DataFrame) -> list[dict]:
    return [{k: plain_number(v, 6) for k, v in row.items()} for row in quality.to_dict("records")]


def disputed_summary(per_unit: pd.DataFrame) -> dict[str, Any]:
    disputed = per_unit[per_unit["disputed"]]
    return {
        "threshold": DISPUTED_BELOW, "units_with_pairs": int(len(per_unit)), "count": int(len(disputed)),
        "units": [{k: plain_number(v, 6) for k, v in rec.items() if k != "disputed"}
                  for rec in disputed.head(MAX_LISTED).to_dict("records")],
    }


def agreement_report(registry, schema, table, names=(), units=None, consensus=None, gold=None,
                     thresholds: Thresholds = Thresholds(), seed: int | None = 0,
                     early: EarlyIntervals | None = None) -> dict[str, Any]:
    """Metrics (with their matrices and bootstrap intervals), the annotator quality table (with the
    interval of each gold accuracy) and the disputed units. The table is coded once for all of them.
    Cohen's kappa's interval runs on a background thread meanwhile; ``early``: that thread already
    started by the caller (:func:`~workbench.agreement.intervals.start_intervals` with this seed),
    for example before it fitted the consensus."""
    from ..table.encode import shared_codes

    with shared_codes():
        if early is None:
            early = start_intervals(registry, schema, table, names, seed=seed)
        try:
            return _agreement_report(registry, schema, table, names, units, consensus, gold, thresholds, seed, early)
        finally:
            if early is not None:
                early.stop()


def _agreement_report(registry, schema, table, names, units, consensus, gold, thresholds: Thresholds,
                      seed: int | None, early: EarlyIntervals | None) -> dict[str, Any]:
    metrics = compute_metrics(registry, schema, table, names, details=True, units=units, consensus=consensus,
                              gold=gold)
    quality = annotator_quality(table, schema, gold, consensus, thresholds, units=units)
    found = metric_intervals(registry, schema, table, metrics, units=units, seed=seed, early=early)
    for name, entry in metrics.items():
        entry["interval"] = found[name].as_list() if name in found else None
    gold_ci = gold_accuracy_intervals(table, schema, gold, list(quality["annotator"]), seed=seed)
    rows = [{**r, "gold_accuracy_ci": gold_ci[r["annotator"]].as_list() if r["annotator"] in gold_ci else None}
            for r in quality_rows(quality)]
    return {"metrics": metrics, "annotators": rows,
            "disputed": disputed_summary(unit_agreement(table, schema, consensus))}
