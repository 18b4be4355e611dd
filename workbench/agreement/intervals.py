"""Bootstrap 95% intervals for the agreement metrics and each annotator's gold accuracy.

Units are resampled with replacement (:mod:`workbench.bootstrap`); each figure is recomputed from
the resampled sums of per-unit contributions, never by re-running a metric per resample:

- Krippendorff's alpha: a unit's coincidence counts (``n_uc (n_uk - [c = k]) / (m_u - 1)``);
  nominal alpha only needs their totals, diagonal and per-value sums, so label sets and span sets
  (whose values are the distinct sets) stay cheap; ordinal and interval alpha use the full
  ``K x K`` matrix with the ordinal distance recomputed from each resample's marginals;
- token alpha: the same over tokens, a unit contributing the sum over its tokens;
- Fleiss' kappa and Gwet's AC1: a unit's share of agreeing pairs and its label shares;
- Cohen's kappa (mean over annotator pairs): a unit's cells of each pair's contingency table;
- percent agreement: a unit's share of agreeing pairs;
- gold accuracy: per gold unit, each annotator's answers and right answers (span tasks: matched,
  marked and gold spans, for the pooled F1), resampling the gold units.

Metrics without an interval here (span F1 between pairs, disputed units, a plugin's metric, or a
built-in name a plugin replaced) get none.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..bootstrap import (
    CHUNK_CELLS,
    LEVEL,
    NO_INTERVAL,
    RESAMPLES,
    Interval,
    interval_of,
    pattern_sums,
    percentile_interval,
    resampled_sums,
    rng_for,
    row_key,
)
from ..models import LabelKind, LabelSchema, with_long_columns
from . import annotator_pairs, count_matrix
from .alpha import interval_distance, scale_values

#: nominal alpha over more distinct values than this (span sets) gets no interval
MAX_VALUES = 5000


def _pairable_weights(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = counts.sum(axis=1)
    ok = m >= 2
    return m, np.divide(1.0, m - 1, out=np.zeros_like(m, dtype=float), where=ok)


def nominal_alpha_interval(counts: np.ndarray, resamples: int = RESAMPLES, seed: int | None = 0,
                           level: float = LEVEL, key: np.ndarray | None = None) -> Interval:
    """Nominal alpha from ``[n, sum of diagonal coincidences, n_c...]`` per resample."""
    counts = np.asarray(counts, dtype=float)
    if counts.shape[1] > MAX_VALUES or len(counts) < 2:
        return NO_INTERVAL
    m, w = _pairable_weights(counts)
    ok = (m >= 2).astype(float)
    contrib = np.column_stack([m * ok, w * ((counts ** 2).sum(axis=1) - m), counts * ok[:, None]])
    sums = pattern_sums(contrib, resamples, seed, _key(counts, key))

    def alpha(s):
        n, diag, n_c = s[:, 0], s[:, 1], s[:, 2:]
        expected = n * n - (n_c ** 2).sum(axis=1)
        return np.where((n > 0) & (expected > 0), 1 - (n - 1) * (n - diag) / expected, np.nan)

    return interval_of(alpha, sums, level)


def _key(counts: np.ndarray, key: np.ndarray | None) -> np.ndarray:
    """Units with equal vote counts contribute equally: the counts' row key groups them."""
    return row_key(counts) if key is None else key


def _ordinal_delta(n_c: np.ndarray) -> np.ndarray:
    """Per resample (rows of ``n_c``), the ordinal distance matrix."""
    b, k = n_c.shape
    cum = np.concatenate([np.zeros((b, 1)), np.cumsum(n_c, axis=1)], axis=1)
    lo = np.minimum.outer(np.arange(k), np.arange(k))
    hi = np.maximum.outer(np.arange(k), np.arange(k))
    between = cum[:, hi + 1] - cum[:, lo]
    return (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2


def scale_alpha_interval(counts: np.ndarray, level_of_measurement: str, values: np.ndarray | None = None,
                         resamples: int = RESAMPLES, seed: int | None = 0, level: float = LEVEL,
                         key: np.ndarray | None = None) -> Interval:
    """Ordinal or interval alpha from the resampled ``K x K`` coincidence matrices."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < 2:
        return NO_INTERVAL
    k = counts.shape[1]
    m, w = _pairable_weights(counts)
    per_unit = (counts[:, :, None] * counts[:, None, :]) * w[:, None, None]
    per_unit[:, np.arange(k), np.arange(k)] -= counts * w[:, None]
    sums = pattern_sums(per_unit.reshape(len(counts), k * k), resamples, seed, _key(counts, key)).reshape(-1, k, k)
    n_c = sums.sum(axis=2)
    n = n_c.sum(axis=1)
    if level_of_measurement == "ordinal":
        delta = _ordinal_delta(n_c)
    else:
        delta = np.broadcast_to(interval_distance(np.arange(k, dtype=float) if values is None else values),
                                sums.shape)
    observed = (sums * delta).sum(axis=(1, 2))
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
    return interval_of(lambda s: np.where((n > 0) & (expected > 0), 1 - (n - 1) * observed / expected, np.nan),
                       sums, level)


def gwet_interval(counts: np.ndarray, which: str, q: int, resamples: int = RESAMPLES, seed: int | None = 0,
                  level: float = LEVEL, key: np.ndarray | None = None) -> Interval:
    """Fleiss' kappa (``which="fleiss"``) or Gwet's AC1 (``"ac1"``) in Gwet's form for missing labels."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < 2 or counts.shape[1] > MAX_VALUES:
        return NO_INTERVAL
    r = counts.sum(axis=1)
    two, rated = (r >= 2).astype(float), (r >= 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pa = np.where(r >= 2, (counts * (counts - 1)).sum(axis=1) / np.maximum(r * (r - 1), 1), 0.0)
        shares = np.where(r[:, None] >= 1, counts / np.maximum(r, 1)[:, None], 0.0)
    sums = pattern_sums(np.column_stack([pa, two, rated, shares]), resamples, seed, _key(counts, key))

    def kappa(s):
        pa_ = s[:, 0] / s[:, 1]
        pi = s[:, 3:] / s[:, 2:3]
        if which == "fleiss":
            pe = (pi ** 2).sum(axis=1)
            return np.where((s[:, 1] > 0) & (pe < 1 - 1e-15), (pa_ - pe) / (1 - pe), np.nan)
        pe = (pi * (1 - pi)).sum(axis=1) / (q - 1)
        return np.where(s[:, 1] > 0, (pa_ - pe) / (1 - pe), np.nan)

    return interval_of(kappa, sums, level)


def percent_interval(counts: np.ndarray, resamples: int = RESAMPLES, seed: int | None = 0,
                     level: float = LEVEL, key: np.ndarray | None = None) -> Interval:
    counts = np.asarray(counts, dtype=float)
    if len(counts) < 2:
        return NO_INTERVAL
    m = counts.sum(axis=1)
    ok = m >= 2
    share = np.where(ok, (counts * (counts - 1)).sum(axis=1) / np.maximum(m * (m - 1), 1), 0.0)
    sums = pattern_sums(np.column_stack([share, ok.astype(float)]), resamples, seed, _key(counts, key))
    return interval_of(lambda s: np.where(s[:, 1] > 0, s[:, 0] / s[:, 1], np.nan), sums, level)


def cohen_interval(table: pd.DataFrame, schema: LabelSchema, resamples: int = RESAMPLES, seed: int | None = 0,
                   level: float = LEVEL) -> Interval:
    """Mean pairwise Cohen's kappa, from each unit's cells of the pairs' contingency tables.

    Every pair of annotators that shares a unit gets its ``K x K`` table as ``K * K`` columns side by
    side (cells no unit fills stay 0), so a resample's tables are one sparse product of the
    units' cells with the resample's unit multiplicities, and each pair's size, agreement and
    marginals are sums over fixed axes of those tables. The multiplicities are the plain
    bootstrap's draws (:func:`~workbench.bootstrap.index_draws`), laid out units x resamples and
    held as float32 (whole numbers, exact far beyond any count here), which halves the memory the
    product streams through; each pair's kappa is then computed in float64 as before.
    """
    import scipy.sparse as sp

    from ..table.encode import encode

    enc = encode(table, schema)
    a_n, k, n_units = enc.n_annotators, enc.n_classes, enc.n_units
    if a_n < 2 or n_units < 2:
        return NO_INTERVAL
    i, j = annotator_pairs(enc)
    if len(i) == 0:
        return NO_INTERVAL
    pair_key = enc.annotator[i].astype(np.int64) * a_n + enc.annotator[j]
    pairs, pair = np.unique(pair_key, return_inverse=True)
    p_n, kk = len(pairs), k * k
    cell = pair.reshape(-1) * kk + enc.label[i].astype(np.int64) * k + enc.label[j]
    # cells x units: a row per (pair, given, given) cell, one entry per unit that fills it
    cells = sp.csr_matrix((np.ones(len(cell), dtype=np.float32), (cell, enc.unit[i])), shape=(p_n * kk, n_units))
    idx = np.arange(k)
    rng = rng_for(seed)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in _draws_by_unit(n_units, resamples, rng, p_n * kk):
            tables = (cells @ w).reshape(p_n, k, k, -1)  # pairs x K x K x resamples, float32 counts
            # sizes, agreement and marginals summed in float32 (whole numbers: exact), then float64
            rows = tables.sum(axis=2)
            cols = tables.sum(axis=1)
            agree = tables[:, idx, idx, :].sum(axis=1).astype(float)
            n = rows.sum(axis=1).astype(float)
            pe = (rows.astype(float) * cols.astype(float)).sum(axis=1) / (n * n)
            kappa = np.ascontiguousarray(np.where((n > 0) & (pe < 1 - 1e-15), (agree / n - pe) / (1 - pe), np.nan).T)
            defined = ~np.isnan(kappa)
            out.append(np.where(defined.any(axis=1), np.nansum(kappa, axis=1) / np.maximum(defined.sum(axis=1), 1),
                                np.nan))
    return percentile_interval(np.concatenate(out), level)


def _draws_by_unit(n: int, resamples: int, rng: np.random.Generator, width: int):
    """:func:`~workbench.bootstrap.index_draws`'s multiplicities (the same draws: int32 draws give
    int64's values for ranges below 2**31), transposed to units x resamples and as float32: the
    layout a sparse cells x units matrix multiplies."""
    chunk = max(1, min(resamples, 2 * CHUNK_CELLS // max(n, width, 1)))  # float32: twice the rows in the same memory
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2 ** 31 else np.int64)
        counts = np.empty((b, n), dtype=np.float32)
        for r in range(b):
            counts[r] = np.bincount(idx[r], minlength=n)
        yield np.ascontiguousarray(counts.T)
        done += b


def token_alpha_interval(table: pd.DataFrame, schema: LabelSchema, units=None, resamples: int = RESAMPLES,
                         seed: int | None = 0, level: float = LEVEL) -> Interval:
    """Token alpha, each unit contributing the nominal-alpha sums of its tokens."""
    from ..table.spans import explode_spans, token_votes

    tv = token_votes(explode_spans(table, schema), len(schema.labels), units)
    if len(tv.votes) == 0:
        return NO_INTERVAL
    votes = np.asarray(tv.votes, dtype=float)
    m, w = _pairable_weights(votes)
    ok = (m >= 2).astype(float)
    per_token = np.column_stack([m * ok, w * ((votes ** 2).sum(axis=1) - m), votes * ok[:, None]])
    n_units = int(tv.unit.max()) + 1
    per_unit = np.zeros((n_units, per_token.shape[1]))
    np.add.at(per_unit, tv.unit, per_token)
    if n_units < 2:
        return NO_INTERVAL
    sums = pattern_sums(per_unit, resamples, seed)

    def alpha(s):
        n, diag, n_c = s[:, 0], s[:, 1], s[:, 2:]
        expected = n * n - (n_c ** 2).sum(axis=1)
        return np.where((n > 0) & (expected > 0), 1 - (n - 1) * (n - diag) / expected, np.nan)

    return interval_of(alpha, sums, level)


BUILT_IN = {
    "percent_agreement": "workbench.agreement.basic", "krippendorff_alpha": "workbench.agreement.alpha",
    "krippendorff_alpha_ordinal": "workbench.agreement.alpha",
    "krippendorff_alpha_interval": "workbench.agreement.alpha", "cohen_kappa": "workbench.agreement.kappa",
    "fleiss_kappa": "workbench.agreement.kappa", "gwet_ac1": "workbench.agreement.kappa",
    "token_alpha": "workbench.agreement.spans",
}


def metric_intervals(registry, schema: LabelSchema, table: pd.DataFrame, metrics: Mapping[str, dict],
                     units=None, resamples: int = RESAMPLES, seed: int | None = 0,
                     level: float = LEVEL) -> dict[str, Interval]:
    """Intervals for the built-in metrics among ``metrics`` that have a value (by name)."""
    out: dict[str, Interval] = {}
    if table.empty or resamples <= 0:
        return out
    table = with_long_columns(table)
    wanted = [name for name, m in metrics.items() if m.get("value") is not None and name in BUILT_IN
              and getattr(registry.get("metrics", name).func, "__module__", None) == BUILT_IN[name]]
    if not wanted:
        return out
    counts = cats = key = None
    if any(name not in ("token_alpha", "cohen_kappa") for name in wanted):
        counts, _, cats = count_matrix(table, schema)
        key = row_key(counts) if counts.shape[1] <= MAX_VALUES else None
    for name in wanted:
        if name == "percent_agreement":
            out[name] = percent_interval(counts, resamples, seed, level, key)
        elif name == "krippendorff_alpha":
            out[name] = nominal_alpha_interval(counts, resamples, seed, level, key)
        elif name == "krippendorff_alpha_ordinal":
            out[name] = scale_alpha_interval(counts, "ordinal", None, resamples, seed, level, key)
        elif name == "krippendorff_alpha_interval":
            out[name] = scale_alpha_interval(counts, "interval", scale_values(schema)[0], resamples, seed, level, key)
        elif name == "fleiss_kappa":
            out[name] = gwet_interval(counts, "fleiss", len(cats), resamples, seed, level, key)
        elif name == "gwet_ac1":
            out[name] = gwet_interval(counts, "ac1", len(cats), resamples, seed, level, key)
        elif name == "cohen_kappa":
            out[name] = cohen_interval(table, schema, resamples, seed, level)
        elif name == "token_alpha":
            out[name] = token_alpha_interval(table, schema, units, resamples, seed, level)
    return out


def gold_accuracy_intervals(table: pd.DataFrame, schema: LabelSchema, gold: Mapping[str, Any] | None,
                            annotators: list[str], resamples: int = RESAMPLES, seed: int | None = 0,
                            level: float = LEVEL) -> dict[str, Interval]:
    """Per annotator, the interval of their gold accuracy (span tasks: pooled span F1 on gold),
    resampling the gold units the table has."""
    import scipy.sparse as sp

    if not gold or table.empty or resamples <= 0:
        return {}
    table = with_long_columns(table)
    part = table[table["unit"].isin(list(gold.keys())).to_numpy()]
    if part.empty:
        return {}
    units = pd.Index(pd.unique(part["unit"]))
    who = pd.Index(annotators).get_indexer(part["annotator"])
    u = units.get_indexer(part["unit"])
    a_n = len(annotators)
    spans = schema.kind is LabelKind.SPANS
    if spans:  # per row: matched spans, marked spans, gold spans, one answer
        values = []
        for unit, label in zip(part["unit"], part["label"]):
            mine = {(s.start, s.end, s.label) for s in label}
            ref = {(s.start, s.end, s.label) for s in gold[unit]}
            values.append((len(mine & ref), len(mine), len(ref), 1.0))
        vals = np.array(values, dtype=float).reshape(-1, 4)
    else:  # per row: one answer, right or not
        right = part["label"].to_numpy(dtype=object) == part["unit"].map(gold).to_numpy(dtype=object)
        vals = np.column_stack([right.astype(float), np.ones(len(part))])
    cols = vals.shape[1]
    keep = who >= 0
    if len(units) < 2 or not keep.any():
        return {}
    rows = np.repeat(u[keep], cols)
    columns = (who[keep][:, None] * cols + np.arange(cols)).ravel()
    contrib = sp.csr_matrix((vals[keep].ravel(), (rows, columns)), shape=(len(units), a_n * cols))
    answered = np.bincount(who[keep], minlength=a_n) > 0
    sums = resampled_sums(contrib, resamples, seed).reshape(resamples, a_n, cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        if spans:
            den = sums[:, :, 1] + sums[:, :, 2]
            score = np.where(den > 0, 2 * sums[:, :, 0] / np.where(den > 0, den, 1), 1.0)
        else:
            score = sums[:, :, 0] / np.where(sums[:, :, 1] > 0, sums[:, :, 1], 1)
        score = np.where(sums[:, :, -1] > 0, score, np.nan)  # no gold answer drawn: undefined
    return {name: interval_of(lambda _s, a=a: score[:, a], sums, level)
            for a, name in enumerate(annotators) if answered[a]}
