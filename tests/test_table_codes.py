"""The faster paths behind the CLI on big label files, each against the way it was computed before
on seeded data: shared table codes, annotator pairs, per-annotator scores and consensus shares on
codes, and auto's comparison on gold fitting gold-blind methods once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate import choose
from workbench.agreement import annotator_pairs, pairs_within
from workbench.agreement.quality import _categorical_scores, annotator_quality
from workbench.agreement.units import unit_agreement
from workbench.models import LabelKind, LabelSchema
from workbench.registry import get_registry
from workbench.table.encode import encode, shared_codes

from benchmarks.crowd import make_crowd


def crowd(seed: int, shuffle: bool = False, n_tasks: int = 300):
    c = make_crowd(n_tasks=n_tasks, n_workers=12, n_classes=3, overlap=4, spammers=0.2, seed=seed, shuffle=shuffle)
    table = c.long_table()
    # some units with fewer labels: uneven unit sizes
    rng = np.random.default_rng(seed)
    table = table[rng.random(len(table)) > 0.15].reset_index(drop=True)
    return table, LabelSchema(LabelKind.SINGLE, c.classes), c


@pytest.mark.parametrize("shuffle", [False, True])
def test_annotator_pairs_are_the_filtered_ordered_pairs(shuffle):
    table, schema, _ = crowd(3, shuffle)
    enc = encode(table, schema)
    i, j = pairs_within(enc.unit)  # the previous way: every ordered pair, then annotator i < j
    keep = enc.annotator[i] < enc.annotator[j]
    old = sorted(zip(i[keep].tolist(), j[keep].tolist()))
    ni, nj = annotator_pairs(enc)
    assert sorted(zip(ni.tolist(), nj.tolist())) == old
    assert annotator_pairs(enc)[0] is ni  # made once per coded table


@pytest.mark.parametrize("shuffle", [False, True])
def test_scores_on_codes_equal_scores_on_values(shuffle):
    table, schema, c = crowd(5, shuffle)
    annotators = pd.Index(sorted(pd.unique(table["annotator"]), key=str))
    ref = {u: c.truth[u] for u in list(c.truth.index)[::3]}
    ref["t1"] = "not-a-class"  # a reference outside the classes: counted, never right
    ref["nowhere"] = "c0"  # a unit the table lacks
    old = _categorical_scores(table, ref, annotators)
    new = _categorical_scores(table, ref, annotators, schema)
    assert np.array_equal(old[0], new[0])
    assert np.allclose(old[1], new[1], equal_nan=True, rtol=0, atol=1e-15)


def test_consensus_share_on_codes_equals_the_value_comparison():
    table, schema, c = crowd(7, shuffle=True)
    consensus = {u: c.truth[u] for u in list(c.truth.index)[: len(c.truth) // 2]}  # half the units have none
    new = unit_agreement(table, schema, consensus)
    agree = table["label"].to_numpy(dtype=object) == table["unit"].map(consensus).to_numpy(dtype=object)
    share = pd.Series(agree.astype(float)).groupby(table["unit"].to_numpy(dtype=object)).mean()
    assert np.allclose(new["consensus_share"].to_numpy(dtype=float), new["unit"].map(share).to_numpy(dtype=float),
                       rtol=0, atol=1e-15)


def test_shared_codes_code_a_table_once_and_only_inside_the_block():
    table, schema, _ = crowd(1)
    assert encode(table, schema) is not encode(table, schema)
    with shared_codes():
        first = encode(table, schema)
        renamed = table.rename(columns={"unit": "task", "annotator": "worker"})
        assert encode(renamed, schema) is first  # the same columns under crowd-kit's names
        assert encode(table, schema, annotators=False) is first
        other = table.iloc[: len(table) - 1]
        assert encode(other, schema) is not first
        changed = table.assign(label=table["label"].to_numpy(dtype=object)[::-1].copy())
        assert encode(changed, schema) is not first
    assert encode(table, schema) is not first


def test_quality_table_is_the_same_with_shared_codes():
    table, schema, c = crowd(9)
    gold = {u: c.truth[u] for u in list(c.truth.index)[:40]}
    consensus = {u: c.truth[u] for u in c.truth.index}
    plain = annotator_quality(table, schema, gold, consensus)
    with shared_codes():
        shared = annotator_quality(table, schema, gold, consensus)
    pd.testing.assert_frame_equal(plain, shared)


def test_gold_blind_methods_are_fitted_once_with_the_same_scores(monkeypatch):
    table, schema, c = crowd(11, n_tasks=400)
    gold = {u: c.truth[u] for u in list(c.truth.index)[:60]}
    methods = ["majority", "wawa", "mmsr", "dawid_skene"]
    registry = get_registry()
    fast = choose.compare_on_gold(registry, schema, table, gold, methods)
    real = choose.GOLD_BLIND
    monkeypatch.setattr(choose, "GOLD_BLIND", {})  # every method fitted on every fold, as before
    slow = choose.compare_on_gold(registry, schema, table, gold, methods)
    monkeypatch.setattr(choose, "GOLD_BLIND", real)
    assert [(s.method, s.correct, s.n, s.error) for s in fast] == [(s.method, s.correct, s.n, s.error) for s in slow]
    assert all(s.error is None and s.n == len(gold) for s in fast)
