"""`auto` picks the method by accuracy on held-out gold when there is enough gold (k-fold over the
gold units: each fold scored by a fit that saw only the other folds' gold), else by the label-count
rule, and its note says which."""

from __future__ import annotations

import contextlib

import pandas as pd

from workbench.aggregate import posterior_result
from workbench.aggregate.choose import (
    AUTO_FOLDS,
    AUTO_MIN_GOLD,
    aggregate_table,
    choose_method,
    compare_on_gold,
    gold_folds,
)
from workbench.models import LabelKind, LabelSchema
from workbench.plugin import Aggregator
from workbench.registry import get_registry
from workbench.table.encode import encode

from benchmarks.crowd import make_crowd


def accuracy(result, truth: pd.Series, skip=()) -> float:
    labels = result.labels.set_index("unit")["label"]
    labels = labels[~labels.index.isin(list(skip))]
    return float((labels == truth.reindex(labels.index)).mean())


def skewed_crowd():
    """Binary, 12% positive, a long tail of workers: MACE (learned prior) is right on ~0.89 of the
    units, Dawid-Skene and majority vote on ~0.73-0.74."""
    return make_crowd(n_tasks=2000, n_workers=60, n_classes=2, overlap=3, accuracy=(0.55, 0.95), spammers=0.1,
                      seed=0, participation=1.5, class_weights=[0.88, 0.12])


def test_auto_picks_the_method_gold_says_is_best_and_names_the_scores():
    crowd = skewed_crowd()
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(crowd.truth.iloc[:60].items())
    reg = get_registry()
    res = aggregate_table(reg, schema, table, "auto", gold=gold)
    assert res.method == "mace"
    note = res.notes[0]
    assert note.startswith("auto: picked mace by accuracy on held-out gold (60 gold units in 5 folds")
    for method in ("majority", "wawa", "weighted_majority", "dawid_skene", "one_coin_dawid_skene", "mace"):
        assert f" {method} 0." in note
    # the scores are sorted, best first, and the pick is the best
    shown = [part.rsplit(" ", 1) for part in note.split(": ", 2)[2].split(", ")]
    values = [float(v) for _, v in shown]
    assert shown[0][0] == "mace" and values == sorted(values, reverse=True)
    # and gold was right: on the units it did not cover, the pick beats what the count rule picks
    rule_pick, rule_note = choose_method(reg, schema, table, "auto")
    assert "no gold units to compare methods on" in rule_note
    rule = aggregate_table(reg, schema, table, rule_pick, gold=gold)
    assert accuracy(res, crowd.truth, skip=gold) > accuracy(rule, crowd.truth, skip=gold) + 0.05


def test_too_little_gold_falls_back_to_the_count_rule_and_says_so():
    crowd = make_crowd(n_tasks=400, n_workers=6, n_classes=3, overlap=3, spammers=0.2, seed=3)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(crowd.truth.iloc[:AUTO_MIN_GOLD - 1].items())
    gold["not-in-the-table"] = "c0"  # gold without labels does not count
    res = aggregate_table(get_registry(), schema, table, "auto", gold=gold)
    assert res.method == "dawid_skene"
    assert res.notes[0] == ("auto: picked dawid_skene (6 annotators, each with >= 20 labels); "
                            f"{AUTO_MIN_GOLD - 1} gold unit(s), fewer than {AUTO_MIN_GOLD} to compare methods on")


def test_a_tie_on_gold_goes_to_the_label_count_rule():
    """Gold every method gets right does not tell methods apart: the label-count rule decides."""
    crowd = make_crowd(n_tasks=200, n_workers=6, n_classes=3, overlap=3, accuracy=(1.0, 1.0), seed=1)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    res = aggregate_table(get_registry(), schema, table, "auto", gold=dict(crowd.truth.iloc[:40].items()))
    assert res.method == "dawid_skene"  # six annotators with 100 labels each
    assert "majority 1.000" in res.notes[0] and "dawid_skene 1.000" in res.notes[0]
    assert "tied on the gold, so the label-count rule's pick" in res.notes[0]
    sparse = make_crowd(n_tasks=100, n_workers=40, n_classes=3, overlap=3, accuracy=(1.0, 1.0), seed=2)
    table = sparse.long_table()  # 7.5 labels per annotator: too few for confusion matrices
    res = aggregate_table(get_registry(), schema, table, "auto", gold=dict(sparse.truth.iloc[:40].items()))
    assert res.method == "majority" and "label-count rule's pick" in res.notes[0]


def test_gold_folds_are_balanced_and_do_not_depend_on_order():
    units = [f"u{i}" for i in range(47)]
    folds = gold_folds(units)
    assert folds == gold_folds(list(reversed(units)))
    sizes = pd.Series(folds).value_counts()
    assert len(sizes) == AUTO_FOLDS and sizes.max() - sizes.min() <= 1


def test_the_scored_fold_is_never_given_to_the_method():
    """A method that copies whatever gold it is given would score 1.0 if the scored units leaked."""
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))

    def copy_gold(table, schema, *, gold=None, units=None, **options):
        enc = encode(table, schema)
        post = enc.shares() * 0
        post[:, 0] = 1.0  # "a" everywhere ...
        for i, u in enumerate(enc.unit_names):
            if u in (gold or {}):
                post[i] = [1.0, 0.0] if gold[u] == "a" else [0.0, 1.0]  # ... except where gold is known
        return posterior_result("copy_gold", enc, post)

    class Registry:
        def get(self, kind, name):
            return Aggregator("copy_gold", copy_gold)

        def guard(self, *args):
            return contextlib.nullcontext()

    units = [f"u{i}" for i in range(40)]
    table = pd.DataFrame({"unit": units * 2, "annotator": ["x"] * 40 + ["y"] * 40, "label": ["a"] * 80})
    gold = {u: ("b" if i % 4 == 0 else "a") for i, u in enumerate(units)}  # a quarter are "b"
    [sc] = compare_on_gold(Registry(), schema, table, gold, ["copy_gold"])
    assert sc.n == 40 and sc.accuracy == 0.75


def test_a_method_that_cannot_run_on_the_folds_is_named():
    crowd = make_crowd(n_tasks=300, n_workers=6, n_classes=3, overlap=3, seed=2)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(crowd.truth.iloc[:40].items())
    scores = compare_on_gold(get_registry(), schema, table, gold, ["majority", "spans"])
    assert scores[0].error is None and scores[0].n == 40
    assert scores[1].error is not None


def test_a_big_table_is_compared_on_a_sample_with_every_gold_unit(monkeypatch):
    """Above AUTO_SAMPLE_ROWS rows, methods are compared on whole units: every gold unit and a hash-drawn
    share of the others (the same in every run and row order); the pick is then fitted on everything."""
    from workbench.aggregate import choose

    crowd = make_crowd(n_tasks=3000, n_workers=30, n_classes=3, overlap=3, spammers=0.1, seed=4)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(crowd.truth.iloc[::20].items())  # 150 units
    sample, note = choose.sample_for_comparison(schema, table, gold, max_rows=2400)
    assert note is not None and "every gold unit" in note
    assert set(gold) <= set(sample["unit"])
    per_unit = table.groupby("unit").size()
    kept = sample.groupby("unit").size()
    assert (kept == per_unit.reindex(kept.index)).all()  # whole units
    assert 1800 < len(sample) < 3000  # about max_rows
    shuffled = table.sample(frac=1.0, random_state=1).reset_index(drop=True)
    again, _ = choose.sample_for_comparison(schema, shuffled, gold, max_rows=2400)
    assert set(again["unit"]) == set(sample["unit"])
    small, none = choose.sample_for_comparison(schema, table, gold, max_rows=len(table))
    assert small is table and none is None

    monkeypatch.setattr(choose, "AUTO_SAMPLE_ROWS", 2400)
    res = aggregate_table(get_registry(), schema, table, "auto", gold=gold)
    assert "compared on a sample of" in res.notes[0] and "fitted once without gold" in res.notes[0]
    assert len(res.labels) == 3000  # the pick ran on the whole table


def test_on_a_sample_methods_that_only_clamp_gold_are_scored_by_a_fit_without_gold():
    crowd = make_crowd(n_tasks=600, n_workers=8, n_classes=3, overlap=3, spammers=0.2, seed=5)
    table, schema = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(crowd.truth.iloc[:100].items())
    reg = get_registry()
    free = reg.get("aggregators", "dawid_skene").func(table, schema, gold=None)
    labels = free.labels.set_index("unit")["label"]
    expected = sum(labels[u] == g for u, g in gold.items())
    [ds, wm] = compare_on_gold(reg, schema, table, gold, ["dawid_skene", "weighted_majority"], gold_free=True)
    assert ds.n == 100 and ds.correct == expected
    # weighted majority needs gold for its weights: still scored fold by fold, never on gold it saw
    [wm_folds] = compare_on_gold(reg, schema, table, gold, ["weighted_majority"])
    assert wm.correct == wm_folds.correct and wm.n == 100
