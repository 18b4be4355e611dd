"""Picking and running an aggregation method on a long table (a campaign's, or a label file's)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import WorkbenchError
from ..models import LabelKind, with_long_columns
from ..table.score import score
from . import AggregateResult

#: ``auto`` uses Dawid-Skene when annotators with at least this many labels ...
AUTO_MIN_LABELS = 20
#: ... hold all but at most this share of the labels (a person who joins late with a few labels
#: must not switch a whole campaign to majority vote)
AUTO_MAX_SPARSE_SHARE = 0.10


def choose_method(registry, schema, table, requested: str) -> tuple[str, str | None]:
    """The method to run and, for ``auto``, a note saying what it picked and why.

    ``auto``: span tasks use ``span_dawid_skene`` (else the ``spans`` vote); other tasks use ``dawid_skene`` when
    two or more annotators have at least :data:`AUTO_MIN_LABELS` labels each (enough to estimate a
    confusion matrix) and annotators with fewer hold at most :data:`AUTO_MAX_SPARSE_SHARE` of the
    labels, else ``majority``.
    """
    if requested != "auto":
        return requested, None
    names = registry.names("aggregators")
    if schema.kind is LabelKind.SPANS:
        pick = next((m for m in ("span_dawid_skene", "spans") if m in names), "majority")
        return pick, f"auto: picked {pick} (span task)"
    per = table.groupby("annotator", sort=False).size() if len(table) else None
    sparse = per[per < AUTO_MIN_LABELS] if per is not None else None
    share = float(sparse.sum() / per.sum()) if per is not None and len(per) else 0.0
    if "dawid_skene" not in names:
        why = "not installed"
    elif per is None or len(per) < 2:
        why = "needs two or more annotators"
    elif len(per) - len(sparse) < 2:
        why = (f"annotator {per.idxmin()!r} has {int(per.min())} label(s), fewer than {AUTO_MIN_LABELS}"
               if len(per) == 2 else f"fewer than two annotators have {AUTO_MIN_LABELS} labels or more")
    elif share > AUTO_MAX_SPARSE_SHARE:
        why = (f"annotators with fewer than {AUTO_MIN_LABELS} labels ({_few(sparse)}) hold {share:.0%} of the "
               f"labels, more than {AUTO_MAX_SPARSE_SHARE:.0%}")
    elif len(sparse):
        return "dawid_skene", (f"auto: picked dawid_skene ({len(per) - len(sparse)} annotators with >= "
                               f"{AUTO_MIN_LABELS} labels; {_few(sparse)} with fewer: {share:.1%} of the labels)")
    else:
        return "dawid_skene", (f"auto: picked dawid_skene ({len(per)} annotators, each with >= "
                               f"{AUTO_MIN_LABELS} labels)")
    return "majority", f"auto: picked majority (dawid_skene: {why})"


def _few(sparse: pd.Series) -> str:
    shown = ", ".join(f"{a!r} {int(n)}" for a, n in sparse.sort_values().head(3).items())
    return shown + (f" and {len(sparse) - 3} more" if len(sparse) > 3 else "")


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
