"""Per-unit agreement: how much a unit's annotators agree, so disputed units can be sent to review.

For choice tasks a unit's agreement is the share of its annotator pairs that gave the same label;
for span tasks it is the span F1 between its annotators' span sets, pooled over all pairs
(exact offsets and label). A unit is *disputed* when that agreement is below a threshold
(default 0.5). Units with a single label have no pairs and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import LabelKind, LabelSchema, with_long_columns
from ..table.spans import explode_spans, group_starts
from . import MetricResult, count_matrix, undefined
from .basic import pairwise_share

DISPUTED_BELOW = 0.5
UNIT_COLUMNS = ["unit", "n_annotations", "agreement", "consensus_share", "disputed"]


def _span_unit_f1(table: pd.DataFrame, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    st = explode_spans(table, schema)
    order, first = group_starts(st.unit, st.annotator, st.start, st.end, st.label)
    pick = order[first]
    u, s, e, lab = st.unit[pick], st.start[pick], st.end[pick], st.label[pick]
    order, first = group_starts(u, s, e, lab)
    holders = np.diff(np.r_[first, len(order)])  # annotators who marked each distinct span
    agreeing_pairs = np.bincount(u[order[first]], weights=holders * (holders - 1) / 2, minlength=st.n_units)
    total_spans = np.bincount(u, minlength=st.n_units)
    m = st.annotations_per_unit()
    # each unordered pair (a, b) compares n_a + n_b spans: summed over pairs, (m - 1) * total
    denominator = (m - 1) * total_spans
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * agreeing_pairs / denominator, 1.0)
    return f1, m, st.unit_names


def unit_agreement(table: pd.DataFrame, schema: LabelSchema, consensus=None,
                   threshold: float = DISPUTED_BELOW) -> pd.DataFrame:
    """One row per unit with two or more labels, least agreement first. Inside
    :func:`~workbench.table.encode.shared_codes` it is made once per table, consensus and threshold
    (the disputed-units metric and the report's list share it); each caller gets its own copy."""
    from ..table.encode import shared_result

    made = shared_result(("unit_agreement", id(table), schema, id(consensus), threshold), (table, consensus),
                         lambda: _unit_agreement(table, schema, consensus, threshold))
    return made.copy()


def _unit_agreement(table: pd.DataFrame, schema: LabelSchema, consensus, threshold: float) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    table = with_long_columns(table)
    if schema.kind is LabelKind.SPANS:
        agreement, m, names = _span_unit_f1(table, schema)
        ok = m >= 2
        agreement = agreement[ok]
    else:
        counts, names, _ = count_matrix(table, schema)
        agreement, ok = pairwise_share(counts)
        m = counts.sum(axis=1)
    out = pd.DataFrame({"unit": names.to_numpy(dtype=object)[ok], "n_annotations": m[ok], "agreement": agreement})
    if consensus and schema.kind is not LabelKind.SPANS:  # on codes: the table is coded once
        from ..table.encode import encode
        from .quality import reference_codes

        enc = encode(table, schema)
        of_unit = reference_codes(enc, consensus)
        agree = np.bincount(enc.unit, weights=(enc.label == of_unit[enc.unit]), minlength=enc.n_units)
        out["consensus_share"] = (agree / np.maximum(enc.per_unit(), 1))[ok]  # no reference: 0, as no row matches
    elif consensus:
        agree = table["label"].to_numpy(dtype=object) == table["unit"].map(consensus).to_numpy(dtype=object)
        share = pd.Series(agree.astype(float)).groupby(table["unit"].to_numpy(dtype=object)).mean()
        out["consensus_share"] = out["unit"].map(share)
    else:
        out["consensus_share"] = np.nan
    out["disputed"] = out["agreement"] < threshold
    return out.sort_values(["agreement", "unit"], kind="mergesort", ignore_index=True)


def disputed_units(table: pd.DataFrame, schema: LabelSchema, consensus=None, **_kw) -> MetricResult:
    """Share of units (with 2+ labels) whose agreement is below 0.5; ``detail`` lists every unit."""
    name = "disputed_units"
    if table.empty:
        return undefined(name, "no annotations")
    per_unit = unit_agreement(table, schema, consensus)
    if per_unit.empty:
        return undefined(name, "undefined: no unit has two or more labels")
    n = int(per_unit["disputed"].sum())
    return MetricResult(name, n / len(per_unit), f"{n} of {len(per_unit)} unit(s) below agreement "
                                                  f"{DISPUTED_BELOW}", per_unit)
