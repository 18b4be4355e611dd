"""Per-annotator quality: spammer score, Dawid-Skene confusion, flags; per-unit disputes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.agreement.quality import Thresholds, annotator_quality, spammer_score
from workbench.agreement.units import disputed_units, unit_agreement
from workbench.models import LabelKind, LabelSchema

from benchmarks.crowd import make_crowd


def test_spammer_score_hand_values():
    assert spammer_score(np.eye(3)) == pytest.approx(1.0)
    assert spammer_score(np.full((3, 3), 1 / 3)) == pytest.approx(0.0)
    assert spammer_score(np.tile([0.7, 0.2, 0.1], (3, 1))) == pytest.approx(0.0)  # answers ignore the truth
    # binary case reduces to (sensitivity + specificity - 1)^2 (Raykar and Yu 2011)
    sens, spec = 0.8, 0.7
    assert spammer_score(np.array([[spec, 1 - spec], [1 - sens, sens]])) == pytest.approx((sens + spec - 1) ** 2)


def test_quality_table_flags_spammers_and_reports_confusion():
    crowd = make_crowd(n_tasks=1200, n_workers=10, n_classes=3, overlap=5, accuracy=(0.8, 0.95),
                       spammers=0.2, seed=21)
    table = crowd.long_table()
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = dict(list(crowd.truth.items())[:100])
    consensus = crowd.truth.to_dict()
    q = annotator_quality(table, schema, gold=gold, consensus=consensus).set_index("annotator")
    kind = pd.Series(crowd.kind, index=[f"w{i}" for i in range(len(crowd.kind))])
    for worker, role in kind.items():
        row = q.loc[worker]
        assert row["n_annotations"] == int((table["annotator"] == worker).sum())
        if role == "spammer":
            assert row["spammer_score"] < 0.1 and any("spammer score" in f for f in row["flags"])
            assert row["gold_accuracy"] < 0.5
        else:
            # accuracy a with errors spread evenly scores ((3a - 1) / 2)^2: 0.49 at a = 0.8
            assert row["spammer_score"] > 0.35 and row["flags"] == []
            # the confusion's diagonal is close to the worker's simulated accuracy
            diag = np.mean([row["confusion"][c][c] for c in crowd.classes])
            assert diag == pytest.approx(crowd.accuracy[int(worker[1:])], abs=0.06)
        assert row["gold_n"] == int(table[table["annotator"] == worker]["unit"].isin(gold.keys()).sum())


def test_thresholds_and_minimum_gold():
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    table = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "annotator": ["x", "y", "x", "y"],
                          "label": ["a", "b", "a", "b"]})
    gold = {"u1": "a", "u2": "a"}
    q = annotator_quality(table, schema, gold=gold, thresholds=Thresholds(min_gold_n=2)).set_index("annotator")
    assert q.loc["y", "gold_accuracy"] == 0.0 and "gold accuracy 0.00 < 0.6" in q.loc["y", "flags"]
    q = annotator_quality(table, schema, gold=gold, thresholds=Thresholds(min_gold_n=3)).set_index("annotator")
    assert not any("gold" in f for f in q.loc["y", "flags"])  # two gold answers are not enough to judge


def test_unit_agreement_and_disputed_units():
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    table = pd.DataFrame({
        "unit": ["u1"] * 3 + ["u2"] * 3 + ["u3"],
        "annotator": ["x", "y", "z"] * 2 + ["x"],
        "label": ["a", "a", "a", "a", "b", "b", "a"],
    })
    per = unit_agreement(table, schema, consensus={"u1": "a", "u2": "b", "u3": "a"})
    assert list(per["unit"]) == ["u2", "u1"]  # least agreement first; u3 has one label: left out
    assert per.loc[0, "agreement"] == pytest.approx(1 / 3) and per.loc[0, "consensus_share"] == pytest.approx(2 / 3)
    assert list(per["disputed"]) == [True, False]
    res = disputed_units(table, schema)
    assert res.value == 0.5 and res.note == "1 of 2 unit(s) below agreement 0.5"
