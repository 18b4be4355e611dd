"""Picking and running an aggregation method on a long table (a campaign's, or a label file's)."""

from __future__ import annotations

import copy
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
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
#: with at least this many gold units that have labels, ``auto`` picks by accuracy on held-out gold
#: (with 30, one unit is 3.3 points of accuracy: below that the comparison is mostly noise)
AUTO_MIN_GOLD = 30
#: ... over this many folds of the gold units (each scored by a fit that saw the other folds' gold)
AUTO_FOLDS = 5
#: on a table with more rows than this, ``auto`` compares the methods on a sample of its units: every
#: gold unit with its labels, and the other units drawn by a hash of their ids (the same sample in
#: every run) in the share that makes about this many rows; the method it picks then runs on the
#: whole table. Units keep all their labels, so what changes is only how many units each annotator's
#: parameters are estimated from (500 labels each on average with 200 annotators), not how hard a
#: unit is; the comparison's precision comes from the number of gold units, which all stay. There the
#: methods of :data:`GOLD_CLAMPED` are fitted once without gold (see :func:`compare_on_gold`)
AUTO_SAMPLE_ROWS = 100_000
#: the methods ``auto`` compares on gold, simplest first: a tie goes to the simpler method. Names the
#: registry lacks are left out; a method not listed here is not compared.
AUTO_CANDIDATES = ("majority", "wawa", "weighted_majority", "one_coin_dawid_skene", "dawid_skene", "mace",
                   "glad", "mmsr", "kos")
#: a comparison on a table (or sample) of at least this many rows fits the built-in candidates on
#: this many threads at once (two on two cores or more); each method's score is the same either way
PARALLEL_ROWS = 50_000
COMPARE_WORKERS = 2 if (os.cpu_count() or 1) >= 2 else 1
#: the order the built-in candidates start on the threads: by their CPU time on the 100 000-row
#: sample of the bench crowd (GLAD 0.4 s, MACE 0.2-0.3 s, M-MSR 0.16 s ... Wawa 0.03 s)
SLOW_FIRST = {"glad": 9, "mace": 8, "mmsr": 7, "one_coin_dawid_skene": 6, "weighted_majority": 5,
              "dawid_skene": 4, "majority": 3, "wawa": 2, "kos": 1}


@dataclass
class GoldScore:
    """How one method did on the held-out gold folds (``error`` when it could not run)."""

    method: str
    correct: int = 0
    n: int = 0
    error: str | None = None

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


def choose_method(registry, schema, table, requested: str, gold: Mapping | None = None,
                  units=None) -> tuple[str, str | None]:
    """The method to run and, for ``auto``, a note saying what it picked and why.

    ``auto``: span tasks use ``span_dawid_skene`` (else the ``spans`` vote). Other tasks, when ``gold`` holds at
    least :data:`AUTO_MIN_GOLD` units that have labels in ``table``: the method of
    :data:`AUTO_CANDIDATES` with the best accuracy on held-out gold (:func:`compare_on_gold`; a tie
    goes to the label-count rule's pick when it is among the best, else to the simpler method). A
    table of more than :data:`AUTO_SAMPLE_ROWS` rows is compared on a sample of its units
    (:func:`sample_for_comparison`), where the methods that only clamp gold (:data:`GOLD_CLAMPED`)
    are fitted once without gold. Otherwise (and when no candidate could run) the label-count rule:
    ``dawid_skene`` when two or more annotators have at least :data:`AUTO_MIN_LABELS` labels each
    (enough to estimate a confusion matrix) and annotators with fewer hold at most
    :data:`AUTO_MAX_SPARSE_SHARE` of the labels, else ``majority``.
    """
    if requested != "auto":
        return requested, None
    names = registry.names("aggregators")
    if schema.kind is LabelKind.SPANS:
        pick = next((m for m in ("span_dawid_skene", "spans") if m in names), "majority")
        return pick, f"auto: picked {pick} (span task)"
    usable = _labeled_gold(table, gold, schema)
    if len(usable) >= AUTO_MIN_GOLD:
        candidates = [m for m in AUTO_CANDIDATES if m in names and schema.kind in registry.get("aggregators", m).kinds]
        sample, sampled = sample_for_comparison(schema, table, usable)
        scores = compare_on_gold(registry, schema, sample, usable, candidates, units, gold_free=sampled is not None)
        ran = [sc for sc in scores if sc.error is None]
        if ran:
            best = min(ran, key=lambda sc: (-sc.correct, candidates.index(sc.method)))
            tied = {sc.method for sc in ran if sc.correct == best.correct}
            default, _ = _count_rule(registry, table, names)
            if len(tied) > 1 and default in tied:  # the gold does not tell them apart: the label-count rule does
                return default, _gold_note(default, scores, len(usable), sampled) + (
                    f"; {len(tied)} methods tied on the gold, so the label-count rule's pick")
            return best.method, _gold_note(best.method, scores, len(usable), sampled)
        why = f"no method could run on the gold folds ({scores[0].error})" if scores else "no method to compare"
    elif usable:
        why = f"{len(usable)} gold unit(s), fewer than {AUTO_MIN_GOLD} to compare methods on"
    else:
        why = f"no gold units to compare methods on (needs {AUTO_MIN_GOLD})"
    pick, note = _count_rule(registry, table, names)
    return pick, f"{note}; {why}"


def _labeled_gold(table, gold: Mapping | None, schema=None) -> dict:
    """The gold units that have labels in ``table`` (no pass over the table without gold; the
    table's units from its codes when :func:`~workbench.table.encode.shared_codes` has them)."""
    if not gold or not len(table):
        return {}
    from ..table.encode import encoded_already

    keys = list(gold)
    enc = encoded_already(table, schema) if schema is not None else None
    units = enc.unit_index() if enc is not None else pd.Index(pd.unique(table["unit"]))
    found = units.get_indexer(keys) >= 0
    return {u: gold[u] for u, ok in zip(keys, found) if ok}


def sample_for_comparison(schema, table, gold: Mapping,
                          max_rows: int | None = None) -> tuple[pd.DataFrame, str | None]:
    """The table ``auto`` compares methods on, and a note when it is a sample: a table of at most
    ``max_rows`` rows as it is; a bigger one cut to every gold unit's rows and, of the other units,
    those whose stable id hash falls in the share that makes about ``max_rows`` rows in all (whole
    units, in table order); ``max_rows`` defaults to :data:`AUTO_SAMPLE_ROWS`."""
    max_rows = AUTO_SAMPLE_ROWS if max_rows is None else max_rows
    if len(table) <= max_rows:
        return table, None
    from ..table.encode import encode
    from ..table.hashing import stable_hash

    enc = encode(table, schema)  # the fits' codes (shared_codes): no second coding of the table
    on_gold = np.zeros(enc.n_units, dtype=bool)
    on_gold[enc.gold_codes(gold)[0]] = True
    per_unit = enc.per_unit()
    gold_rows = int(per_unit[on_gold].sum())
    share = max(0.0, (max_rows - gold_rows) / max(enc.n_rows - gold_rows, 1))
    draw = stable_hash(enc.unit_names) / float(2 ** 64)
    keep = on_gold | (draw < share)
    rows = keep[enc.unit]
    sample = table[rows].reset_index(drop=True)
    return sample, (f"compared on a sample of {int(keep.sum()):,} of the {enc.n_units:,} units "
                    f"({len(sample):,} of {enc.n_rows:,} rows: every gold unit, the others drawn by a hash of "
                    f"their ids; the pick is then fitted on the whole table)")


def _count_rule(registry, table, names) -> tuple[str, str]:
    """Dawid-Skene or majority by how many labels the annotators have (see :func:`choose_method`)."""
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


def gold_folds(units: list, folds: int = AUTO_FOLDS) -> dict[Any, int]:
    """Each gold unit's fold, 0 .. folds-1: the units in the order of a stable hash of their ids, dealt
    round-robin (the same folds in every run, whatever order the gold comes in; sizes differ by <= 1)."""
    from ..table.hashing import stable_hash

    ordered = sorted(units, key=str)
    rank = np.argsort(stable_hash([str(u) for u in ordered]), kind="stable")
    return {ordered[i]: pos % folds for pos, i in enumerate(rank)}


def compare_on_gold(registry, schema, table, gold: Mapping, methods: list[str], units=None,
                    folds: int = AUTO_FOLDS, gold_free: bool = False) -> list[GoldScore]:
    """Accuracy of each method on gold it did not see: the gold units are cut into ``folds`` folds
    (:func:`gold_folds`); for each fold the method runs on the whole table with the *other* folds'
    gold (clamped by the methods that clamp gold, weights of ``weighted_majority``) and its labels on
    the fold's units are checked against their gold. Scores are pooled over the folds.

    Methods whose labels do not depend on gold (:data:`GOLD_BLIND`) run once. With ``gold_free``,
    so do the methods that use gold only by clamping it (:data:`GOLD_CLAMPED`): once without any
    gold, scored on every gold unit (no fit sees the gold it is scored on; it sees none)."""
    from ..table.encode import shared_codes

    fold_of = gold_folds(list(gold), min(folds, len(gold)))
    n_folds = max(fold_of.values()) + 1 if fold_of else 0
    seen = [{u: g for u, g in gold.items() if fold_of[u] != f} for f in range(n_folds)]
    held = [[u for u in gold if fold_of[u] == f] for f in range(n_folds)]

    def run(method: str) -> GoldScore:
        sc = GoldScore(method)
        agg = registry.get("aggregators", method)
        module = getattr(agg.func, "__module__", None)
        once = module == GOLD_BLIND.get(method) or (gold_free and module == GOLD_CLAMPED.get(method))
        try:
            with registry.guard("aggregators", method, "comparing methods on gold"):
                if once:  # the same labels every fold (a method that ignores gold), or a fit without gold
                    results = [agg.func(table, schema, gold=None, units=units)] * n_folds
                else:
                    results = [agg.func(table, schema, gold=seen[f], units=units) for f in range(n_folds)]
            # one fit for every fold: its labels looked up once for all the gold units (a lookup
            # builds a hash table of the table's units), not once per fold
            everyone = _labels_of(results[0], list(gold)) if once and n_folds else None
            for f in range(n_folds):
                got = everyone if everyone is not None else _labels_of(results[f], held[f])
                sc.correct += sum(1 for u in held[f] if u in got and got[u] == gold[u])
                sc.n += len(held[f])
        except WorkbenchError as e:
            sc.error = str(e).splitlines()[0]
        return sc

    with shared_codes():  # one coding of the table for every fit
        # built-in methods side by side on a big table (their numpy and scipy work releases the GIL);
        # a plugin's method runs alone, as it would anywhere else
        side = [m for m in methods if getattr(registry.get("aggregators", m).func, "__module__", "")
                .startswith("workbench.aggregate.")] if len(table) >= PARALLEL_ROWS and COMPARE_WORKERS > 1 else []
        if len(side) < 2:
            return [run(m) for m in methods]
        from concurrent.futures import ThreadPoolExecutor

        from ..table.encode import encode

        encode(table, schema)  # coded once here, not by two threads at once
        # the longest fits first, so that no long one is left to run alone at the end
        side.sort(key=lambda m: -SLOW_FIRST.get(m, 0))
        with ThreadPoolExecutor(max_workers=COMPARE_WORKERS, thread_name_prefix="workbench-compare") as pool:
            pending = {m: pool.submit(run, m) for m in side}
            return [pending[m].result() if m in pending else run(m) for m in methods]


#: built-in methods whose labels do not depend on the gold they are given (fitted once when
#: comparing on gold folds); by name and the module of the function, so a plugin's replacement is
#: fitted every fold
GOLD_BLIND = {"majority": "workbench.aggregate.majority", "wawa": "workbench.aggregate.majority",
              "mmsr": "workbench.aggregate.mmsr", "kos": "workbench.aggregate.kos"}
#: built-in methods that use gold only by clamping the gold units' posteriors (fitted once without
#: gold when ``auto`` compares on a sample of a big table; see :data:`AUTO_SAMPLE_ROWS`)
GOLD_CLAMPED = {"dawid_skene": "workbench.aggregate.dawid_skene",
                "one_coin_dawid_skene": "workbench.aggregate.dawid_skene",
                "mace": "workbench.aggregate.mace", "glad": "workbench.aggregate.glad"}


def _labels_of(result, units: list) -> dict:
    """``{unit: label}`` of a result for ``units`` only (a million-unit result is not made a dict)."""
    pos = pd.Index(result.labels["unit"]).get_indexer(units)
    found = pos >= 0
    labels = result.labels["label"].take(pos[found]).to_numpy(dtype=object)
    return dict(zip([u for u, ok in zip(units, found) if ok], labels))


def _gold_note(pick: str, scores: list[GoldScore], n_gold: int, sampled: str | None = None) -> str:
    ran = sorted((sc for sc in scores if sc.error is None), key=lambda sc: -sc.accuracy)
    shown = ", ".join(f"{sc.method} {sc.accuracy:.3f}" for sc in ran)
    failed = [sc for sc in scores if sc.error is not None]
    tail = "".join(f"; {sc.method} could not run: {sc.error}" for sc in failed)
    folds = min(AUTO_FOLDS, n_gold)
    how = (f"{n_gold} gold units in {folds} folds, each scored by a fit that saw only the other folds' gold"
           if sampled is None else
           f"{n_gold} gold units; {sampled}; the methods that use gold only by clamping it fitted once "
           f"without gold, the others in {folds} folds, each scored by a fit that saw only the other folds' gold")
    return f"auto: picked {pick} by accuracy on held-out gold ({how}): {shown}{tail}"


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
    from ..table.encode import shared_codes

    with shared_codes():  # choosing on gold and the fit share one coding of the table
        method, note = choose_method(registry, schema, table, method, gold=gold, units=units)
        agg = registry.get("aggregators", method)
        if schema.kind not in agg.kinds:
            kinds = ", ".join(sorted(k.value for k in agg.kinds))
            raise WorkbenchError(f"aggregator {method!r} works on {kinds} labels, not {schema.kind.value}")
        with registry.guard("aggregators", method, "aggregating"):
            if method == "dawid_skene" and not options and units is None and _is_builtin_ds(agg.func):
                result = copy.copy(dawid_skene_fit(table, schema, gold))  # the quality table's fit too
                result.notes = list(result.notes)
            else:
                result = agg.func(table, schema, gold=gold, units=units, **options)
    if note:
        result.notes.insert(0, note)
    return result


def _is_builtin_ds(func) -> bool:
    return getattr(func, "__module__", None) == "workbench.aggregate.dawid_skene" and func.__name__ == "dawid_skene"


def dawid_skene_fit(table: pd.DataFrame, schema, gold: Mapping | None = None) -> AggregateResult:
    """The built-in Dawid-Skene with its default options on ``table`` and ``gold``, fitted once per
    table and gold inside :func:`~workbench.table.encode.shared_codes`: ``auto``'s consensus by the
    label-count rule and the annotator quality table's confusion matrices are the same fit (callers
    must not change the result in place)."""
    from ..table.encode import _CACHE, encode, shared_result
    from .dawid_skene import dawid_skene

    gold = gold or None
    if _CACHE is None:
        return dawid_skene(table, schema, gold=gold)
    enc = encode(table, schema)  # the same codes for the same columns, under any column names
    key = ("dawid_skene_fit", id(enc), schema, None if gold is None else id(gold))
    made = shared_result(key, (enc, gold), lambda: dawid_skene(table, schema, gold=gold))
    return made.result() if isinstance(made, Future) else made


def start_dawid_skene_fit(table: pd.DataFrame, schema, gold: Mapping | None = None) -> None:
    """Begin :func:`dawid_skene_fit` on a background thread (inside ``shared_codes()``, on two cores or
    more): ``workbench annotators`` fits the quality table's Dawid-Skene while ``auto`` compares
    methods and fits its pick; :func:`dawid_skene_fit` then waits for it (an error there is raised
    where the fit is wanted)."""
    from ..table.encode import _CACHE, encode, shared_result
    from .dawid_skene import dawid_skene

    if _CACHE is None or (os.cpu_count() or 1) < 2:
        return
    gold = gold or None
    enc = encode(table, schema)
    key = ("dawid_skene_fit", id(enc), schema, None if gold is None else id(gold))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-ds")
    shared_result(key, (enc, gold), lambda: pool.submit(dawid_skene, table, schema, gold=gold))
    pool.shutdown(wait=False)


def gold_accuracy(labels: dict, gold: dict, spans: bool) -> dict[str, Any] | None:
    """How often the consensus matches gold (exact for choices; span micro-F1 for spans)."""
    common = [u for u in gold if u in labels]
    if not common:
        return None
    got = pd.Series([labels[u] for u in common])
    ref = pd.Series([gold[u] for u in common])
    return {"n": len(common), "accuracy": score(got, ref, spans)}
