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

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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
from ..errors import WorkbenchError
from ..models import LabelKind, LabelSchema, with_long_columns
from . import annotator_pairs, count_matrix
from .alpha import interval_distance, scale_values

#: nominal alpha over more distinct values than this (span sets) gets no interval
MAX_VALUES = 5000
#: worker threads of the Cohen kappa bootstrap (counting, product, reduction of a chunk of resamples),
#: beside the drawing thread and the rest of the agreement report. Two on two cores: on a quiet 2-core
#: machine `agreement` on the 1M-row benchmark file took 2.60-3.04 s best wall with two against
#: 3.58-3.72 s with one (interleaved runs, load 0.8-1.4); with the other core busy a second worker
#: buys no wall time and costs ~10% more CPU
KAPPA_WORKERS = 2 if (os.cpu_count() or 1) >= 2 else 1


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
                   level: float = LEVEL, cancel: threading.Event | None = None) -> Interval:
    """Mean pairwise Cohen's kappa, from each unit's cells of the pairs' contingency tables.

    Every pair of annotators that shares a unit gets its ``K x K`` table as ``K * K`` rows of a
    sparse cells x units matrix (cell-major: all pairs' cell ``(0, 0)``, then ``(0, 1)``...; cells
    no unit fills stay 0), so a resample's tables are one sparse product of that matrix with the
    resample's unit multiplicities, and each pair's size, agreement and marginals are sums of
    whole ``pairs x resamples`` planes of the product. The multiplicities are the plain
    bootstrap's draws (``rng.integers(0, n, n)`` per resample, the same stream as
    :func:`~workbench.bootstrap.index_draws`), laid out units x resamples.

    Everything up to each pair's kappa is whole numbers, so it is computed in the narrowest type that
    holds it exactly (:func:`_count_types`): the product in int16 when no count can reach 2**15,
    ``n**2 - sum_c rows_c * cols_c`` and ``agree * n - sum_c rows_c * cols_c`` in float32 when they
    stay below 2**24; kappa is then their quotient in float64, ``(p_o - p_e) / (1 - p_e)`` exactly
    rounded. Chunks of resamples are drawn in order on this thread and counted, multiplied and
    reduced on worker threads (``KAPPA_WORKERS``; numpy and scipy release the GIL there), so the result does not
    depend on the threads. ``cancel``: when set, stop after the chunk under way (NO_INTERVAL).
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
    pair, p_n = _pair_codes(enc.annotator[i], enc.annotator[j], a_n)
    cell = (enc.label[i].astype(np.int64) * k + enc.label[j]) * p_n + pair
    # column by column (CSC): the product reads each unit's multiplicities once, in order, and adds
    # them to its few cells; row by row it gathered them for every cell, at random (twice the time)
    cells = sp.csc_matrix((np.ones(len(cell), dtype=np.int16), (cell, enc.unit[i])), shape=(k * k * p_n, n_units))
    widest = int(np.bincount(pair, minlength=p_n).max())  # the most units one pair shares

    def kappas(draws: np.ndarray) -> np.ndarray:
        """Per resample of the chunk (rows of unit indices), the mean kappa over defined pairs."""
        b = len(draws)
        w = np.empty((b, n_units), dtype=np.int32)
        for r in range(b):
            w[r] = np.bincount(draws[r], minlength=n_units)
        count, fine = _count_types(int(w.max()) * widest)
        product = cells.astype(count, copy=False) @ np.ascontiguousarray(w.T, dtype=count)
        return _mean_kappa(product.reshape(k, k, p_n, b), fine)

    rng = rng_for(seed)
    chunk = max(1, min(resamples, 2 * CHUNK_CELLS // max(n_units, 1)))  # ~40 x 200 000: 32 MB of draws
    out = []
    with ThreadPoolExecutor(max_workers=KAPPA_WORKERS, thread_name_prefix="workbench-kappa") as pool:
        pending: list = []
        done = 0
        while done < resamples:
            if cancel is not None and cancel.is_set():
                return NO_INTERVAL
            b = min(chunk, resamples - done)
            draws = rng.integers(0, n_units, size=(b, n_units), dtype=np.int32 if n_units < 2 ** 31 else np.int64)
            pending.append(pool.submit(kappas, draws))
            done += b
            if len(pending) > 2:  # bound the chunks held at once
                out.append(pending.pop(0).result())
        out += [f.result() for f in pending]
    return percentile_interval(np.concatenate(out), level)


def _pair_codes(left: np.ndarray, right: np.ndarray, a_n: int) -> tuple[np.ndarray, int]:
    """Per row pair, the rank of its annotator pair ``(left, right)`` among the pairs that occur
    (``np.unique``'s inverse), and how many occur; a flag per possible pair when there are few."""
    key = left.astype(np.int64) * a_n + right
    if a_n * a_n > 50_000_000:
        pairs, inverse = np.unique(key, return_inverse=True)
        return inverse.reshape(-1), len(pairs)
    seen = np.zeros(a_n * a_n, dtype=bool)
    seen[key] = True
    rank = np.cumsum(seen, dtype=np.int64) - 1
    return rank[key], int(rank[-1]) + 1


def _count_types(top: int) -> tuple[type, type]:
    """For tables whose counts are at most ``top``: the type of the sparse product (int16 when it holds
    every count) and the float type that holds ``top ** 2`` exactly (float32 below 2**24)."""
    count = np.int16 if top < 2 ** 15 else np.int32 if top < 2 ** 31 else np.float64
    return count, (np.float32 if top * top < 2 ** 24 else np.float64)


def _plane_sum(planes: list, fine: type) -> np.ndarray:
    """The sum of same-shaped planes, added in their own type (counts: exact), then as ``fine``."""
    out = planes[0].copy()
    for plane in planes[1:]:
        out += plane
    return out.astype(fine, copy=False)


def _mean_kappa(tables: np.ndarray, fine: type, block: int = 512) -> np.ndarray:
    """Per resample, the mean of Cohen's kappa over the pairs where it is defined (NaN if none), from
    ``K x K x pairs x resamples`` counts; blocks of pairs keep the planes in cache."""
    k, _, p_n, b = tables.shape
    total = np.zeros(b)
    defined = np.zeros(b, dtype=np.int64)
    for p0 in range(0, p_n, block):
        t = tables[:, :, p0:p0 + block]
        rows = [_plane_sum([t[c, d] for d in range(k)], fine) for c in range(k)]
        cols = [_plane_sum([t[d, c] for d in range(k)], fine) for c in range(k)]
        n = _plane_sum(rows, fine)
        agree = _plane_sum([t[c, c] for c in range(k)], fine)
        chance = rows[0] * cols[0]  # n**2 times the chance agreement
        for c in range(1, k):
            chance += rows[c] * cols[c]
        den = n * n - chance  # 0 when n = 0 or every label the same: kappa undefined
        ok = den > 0
        kappa = np.divide(agree * n - chance, den, out=np.zeros(den.shape), where=ok, dtype=np.float64)
        total += kappa.sum(axis=0)
        defined += ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined > 0, total / np.maximum(defined, 1), np.nan)


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
                     level: float = LEVEL, early: "EarlyIntervals | None" = None) -> dict[str, Interval]:
    """Intervals for the built-in metrics among ``metrics`` that have a value (by name). ``early``:
    intervals :func:`start_intervals` began on the same table with the same settings (taken from
    there; one no metric wants is stopped)."""
    out: dict[str, Interval] = {}
    wanted = [name for name, m in metrics.items() if m.get("value") is not None and name in BUILT_IN
              and getattr(registry.get("metrics", name).func, "__module__", None) == BUILT_IN[name]]
    if early is not None:
        if early.settings == (id(table), resamples, seed, level):
            out.update(early.take(wanted))
        early.stop()
    if table.empty or resamples <= 0:
        return out
    table = with_long_columns(table)
    wanted = [name for name in wanted if name not in out]
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


class EarlyIntervals:
    """Intervals under way on a background thread (see :func:`start_intervals`)."""

    def __init__(self, settings: tuple, futures: dict[str, Future], cancel: threading.Event):
        self.settings = settings
        self._futures = futures
        self._cancel = cancel

    def take(self, names) -> dict[str, Interval]:
        """The finished intervals of ``names`` (waiting for them); errors are raised as they were."""
        return {name: f.result() for name, f in self._futures.items() if name in names}

    def stop(self) -> None:
        """Stop what nobody took and wait for the thread (an error there is dropped: the interval
        is computed again, and fails again, where it is wanted)."""
        self._cancel.set()
        for f in self._futures.values():
            f.exception()


def start_intervals(registry, schema: LabelSchema, table: pd.DataFrame, names=(), resamples: int = RESAMPLES,
                    seed: int | None = 0, level: float = LEVEL) -> EarlyIntervals | None:
    """Begin Cohen's kappa's interval (the long one: a sparse product per chunk of resamples) on a
    background thread while the caller computes the metrics, the consensus and the quality table;
    :func:`metric_intervals` with ``early=`` then takes it if the metric has a value, or stops it.
    None when the built-in Cohen's kappa is not among the metrics ``names`` (default: all that apply)
    or the table is empty or not categorical."""
    name = "cohen_kappa"
    if table.empty or resamples <= 0 or schema.kind is LabelKind.SPANS or (names and name not in names):
        return None
    try:
        metric = registry.get("metrics", name)
    except WorkbenchError:  # not registered, or by two plugins: the metrics step says which
        return None
    if getattr(metric.func, "__module__", None) != BUILT_IN[name] or schema.kind not in metric.kinds:
        return None
    from ..table.encode import encode

    try:  # the codes and annotator pairs on this thread: the metric itself then finds them made
        annotator_pairs(encode(table, schema))
    except Exception:
        return None  # a bad table: the metric says so where it is computed
    cancel = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-intervals")
    future = pool.submit(cohen_interval, table, schema, resamples, seed, level, cancel)
    pool.shutdown(wait=False)
    return EarlyIntervals((id(table), resamples, seed, level), {name: future}, cancel)


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
