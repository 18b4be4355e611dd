"""Bootstrap confidence intervals by resampling units, without re-running a metric per resample.

Every figure that gets an interval here is a function of *sums over units* of a small per-unit
vector (a unit's coincidence counts, its vote shares, its confusion cell, an annotator's right
answers on it...). Resampling units with replacement then only changes how many times each unit
counts, so a resample's sums are ``weights @ contributions``, computed for all resamples at once:

- :func:`resampled_sums` draws the unit indices of each resample (``rng.integers(0, n, n)``, the plain
  bootstrap, so a loop over the same draws gives the same numbers) and sums the contributions with
  those multiplicities; dense or sparse contributions, in chunks of resamples to bound memory;
- :func:`pattern_sums` is the same resampling for contributions that take few distinct values
  (a unit's vote counts over 3 labels with 3 annotators has ~10 patterns): units with the same row
  are interchangeable, so the number of draws of each pattern is multinomial, ``n`` draws with
  probabilities ``count / n``; the cost is then ``resamples x patterns``, whatever ``n``.

Intervals are percentile intervals (2.5% and 97.5% for 95%) over the resamples where the figure
is defined; every draw comes from ``numpy.random.default_rng(seed)``, so the same data and seed
give the same interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
#: resample draws held in memory at once (chunk of resamples x units)
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None
    resamples: int  # resamples where the figure was defined
    level: float = LEVEL

    def as_list(self, digits: int | None = 6) -> list[float | None] | None:
        if self.low is None or self.high is None:
            return None
        r = (lambda x: round(float(x), digits)) if digits is not None else float
        return [r(self.low), r(self.high)]


NO_INTERVAL = Interval(None, None, 0)


def rng_for(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(0 if seed is None else seed)


def index_draws(n: int, resamples: int, rng: np.random.Generator, width: int = 0) -> Iterator[np.ndarray]:
    """Chunks of resamples as multiplicity matrices (chunk x n): row b counts how often resample b
    drew each unit. Draws ``rng.integers(0, n, size=(chunk, n))``: chunk after chunk, the same
    stream as one ``(resamples, n)`` draw. ``width``: columns the caller will hold per resample."""
    chunk = max(1, min(resamples, CHUNK_CELLS // max(n, width, 1)))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n))
        flat = (np.arange(b)[:, None] * n + idx).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)
        done += b


def resampled_values(contrib: Any, statistic: Callable[[np.ndarray], np.ndarray], resamples: int = RESAMPLES,
                     seed: int | None = 0) -> np.ndarray:
    """``statistic`` of each resample's sums of the ``n x d`` per-unit contributions (a numpy array
    or a scipy sparse matrix) over units drawn with replacement; computed chunk by chunk, so only a
    chunk of resamples' sums is ever held."""
    import scipy.sparse as sp

    n, d = contrib.shape
    rng = rng_for(seed)
    sparse = sp.issparse(contrib)
    c = contrib.tocsc() if sparse else np.asarray(contrib, dtype=float)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in index_draws(n, resamples, rng, d):
            sums = np.asarray((c.T @ w.T).T) if sparse else w @ c
            out.append(np.asarray(statistic(sums), dtype=float))
    return np.concatenate(out) if out else np.zeros(0)


def resampled_sums(contrib: Any, resamples: int = RESAMPLES, seed: int | None = 0) -> np.ndarray:
    """``resamples x d`` sums of the ``n x d`` per-unit contributions (a numpy array or a scipy
    sparse matrix) over units drawn with replacement."""
    rows = resampled_values(contrib, lambda s: s, resamples, seed)
    return rows.reshape(resamples, contrib.shape[1])


def row_key(rows: np.ndarray) -> np.ndarray:
    """One int64 per row, equal for equal rows: the rows' digits in a mixed radix when they are small
    non-negative integers (vote counts), else the row's rank among the distinct rows."""
    rows = np.asarray(rows)
    if rows.ndim == 2 and rows.size and np.all(rows >= 0) and np.all(rows == np.round(rows)):
        base = int(rows.max()) + 1
        if rows.shape[1] * np.log2(max(base, 2)) < 62:
            return (rows.astype(np.int64) * base ** np.arange(rows.shape[1], dtype=np.int64)).sum(axis=1)
    return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)


def pattern_sums(contrib: np.ndarray, resamples: int = RESAMPLES, seed: int | None = 0,
                 key: np.ndarray | None = None) -> np.ndarray:
    """The same as :func:`resampled_sums` for dense contributions with few distinct rows (in
    distribution: the draws differ), at a cost of ``resamples x patterns``. ``key``: per unit, an id
    equal for units whose contribution rows are equal (default: from the rows themselves)."""
    contrib = np.asarray(contrib, dtype=float)
    n = len(contrib)
    rng = rng_for(seed)
    if n == 0:
        return np.zeros((resamples, contrib.shape[1]))
    _, first, counts = np.unique(row_key(contrib) if key is None else key, return_index=True, return_counts=True)
    draws = rng.multinomial(n, counts / n, size=resamples).astype(float)
    return draws @ contrib[first]


def percentile_interval(values: np.ndarray, level: float = LEVEL, min_defined: float = 0.5) -> Interval:
    """The percentile interval of the resampled figures (NaN: undefined in that resample). None
    when fewer than ``min_defined`` of the resamples define the figure."""
    values = np.asarray(values, dtype=float)
    ok = values[~np.isnan(values)]
    if len(values) == 0 or len(ok) < max(2, min_defined * len(values)):
        return Interval(None, None, int(len(ok)), level)
    tail = (1 - level) / 2
    low, high = np.quantile(ok, [tail, 1 - tail])
    return Interval(float(low), float(high), int(len(ok)), level)


def interval_of(statistic: Callable[[np.ndarray], np.ndarray], sums: np.ndarray, level: float = LEVEL) -> Interval:
    """``statistic`` maps resampled sums (resamples x d) to one figure per resample."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return percentile_interval(statistic(sums), level)


def show_interval(interval: Any, digits: int = 3) -> str:
    """``[0.612, 0.701]`` from an :class:`Interval` or a ``[low, high]`` list; empty when none."""
    if interval is None:
        return ""
    low, high = (interval.low, interval.high) if isinstance(interval, Interval) else interval
    if low is None or high is None:
        return ""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"
