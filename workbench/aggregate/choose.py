"""Picking and running an aggregation method on a long table (a campaign's, or a label file's)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, with_long_columns
from ..table.score import score
from . import AggregateResult

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
    with registry.guard("aggregators", method, "aggregating"):
        result = agg.func(table, schema, gold=gold, units=units, **options)
    if note:
        result.notes.insert(0, note)
    return result


def gold_accuracy(labels: dict, gold: dict, spans: bool) -> dict[str, Any] | None:
    """How often the consensus matches gold (exact for choices; span micro-F1 for spans)."""
    common = [u for u in gold if u in labels]
    if not common:
        return None
    got = pd.Series([labels[u] for u in common])
    ref = pd.Series([gold[u] for u in common])
    return {"n": len(common), "accuracy": score(got, ref, spans)}
