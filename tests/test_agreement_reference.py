"""Agreement metrics against independent implementations and published worked examples.

References: the ``krippendorff`` package, statsmodels' ``fleiss_kappa``, scikit-learn's
``cohen_kappa_score``, a straight per-unit transcription of Gwet's formulas for missing data, and
the 4 observers x 12 units example of Krippendorff (2011) / Gwet (2014), whose published values
irrCAC reproduces.
"""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from workbench.agreement.alpha import (
    krippendorff_alpha_interval,
    krippendorff_alpha_nominal,
    krippendorff_alpha_ordinal,
)
from workbench.agreement.basic import percent_agreement
from workbench.agreement.kappa import cohen_kappa, fleiss_kappa, gwet_ac1
from workbench.models import LabelKind, LabelSchema

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing data;
# the same table is Gwet (2014)'s raw_4raters (irrCAC.datasets.raw_4raters).
KRIPP_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, NAN],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])
SCALE = LabelSchema(LabelKind.ORDINAL, ("1", "2", "3", "4", "5"))


def to_table(data: np.ndarray, labels: tuple[str, ...]) -> pd.DataFrame:
    """A raters x units matrix (NaN = missing, values = label index) as a long table."""
    rows = [(f"u{j}", f"r{i}", labels[int(data[i, j])]) for i in range(data.shape[0]) for j in range(data.shape[1])
            if not np.isnan(data[i, j])]
    return pd.DataFrame(rows, columns=["unit", "annotator", "label"])


def random_ratings(seed: int, raters: int = 6, units: int = 150, k: int = 4, missing: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, units)
    skill = rng.uniform(0.3, 0.9, raters)[:, None]
    data = np.where(rng.random((raters, units)) < skill, truth, rng.integers(0, k, (raters, units))).astype(float)
    data[rng.random((raters, units)) < missing] = np.nan
    return data


def test_krippendorff_2011_worked_example():
    table = to_table(KRIPP_2011 - 1, SCALE.labels)
    # published: nominal .743, ordinal .815, interval .849
    assert krippendorff_alpha_nominal(table, SCALE).value == pytest.approx(0.743421052631579, abs=1e-12)
    assert krippendorff_alpha_ordinal(table, SCALE).value == pytest.approx(0.8153875037548814, abs=1e-12)
    assert krippendorff_alpha_interval(table, SCALE).value == pytest.approx(0.8491071428571428, abs=1e-12)


def test_gwet_2014_worked_example():
    table = to_table(KRIPP_2011 - 1, SCALE.labels)
    # Gwet (2014), Handbook of Inter-Rater Reliability: AC1 0.7754, Fleiss' kappa 0.7612 (irrCAC: .77544, .76117)
    assert gwet_ac1(table, LabelSchema(LabelKind.SINGLE, SCALE.labels)).value == pytest.approx(0.77544, abs=5e-6)
    assert fleiss_kappa(table, SCALE).value == pytest.approx(0.76117, abs=5e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_matches_krippendorff_package(seed, level):
    data = random_ratings(seed)
    labels = ("1", "2", "4", "8")  # uneven numbers: interval distances use the values, not positions
    table = to_table(data, labels)
    schema = LabelSchema(LabelKind.ORDINAL, labels)
    values = np.array([float(x) for x in labels])
    reference = np.where(np.isnan(data), np.nan, values[np.nan_to_num(data).astype(int)])
    expected = krippendorff.alpha(reliability_data=reference, level_of_measurement=level, value_domain=values)
    fn = {"nominal": krippendorff_alpha_nominal, "ordinal": krippendorff_alpha_ordinal,
          "interval": krippendorff_alpha_interval}[level]
    assert fn(table, schema).value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_matrix_matches_sklearn(seed):
    data = random_ratings(seed, raters=5, units=80, k=3, missing=0.3)
    table = to_table(data, ("a", "b", "c"))
    res = cohen_kappa(table, LabelSchema(LabelKind.SINGLE, ("a", "b", "c")))
    matrix = res.detail
    expected = []
    for i, j in itertools.combinations(range(data.shape[0]), 2):
        both = ~np.isnan(data[i]) & ~np.isnan(data[j])
        k = cohen_kappa_score(data[i, both], data[j, both])
        assert matrix.loc[f"r{i}", f"r{j}"] == pytest.approx(k, abs=1e-12)
        assert matrix.loc[f"r{j}", f"r{i}"] == pytest.approx(k, abs=1e-12)
        expected.append(k)
    assert res.value == pytest.approx(np.mean(expected), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_matches_statsmodels_on_complete_data(seed):
    data = random_ratings(seed, raters=5, units=120, k=4, missing=0.0)
    table = to_table(data, ("a", "b", "c", "d"))
    counts = np.stack([(data == c).sum(axis=0) for c in range(4)], axis=1)
    expected = sm_fleiss(counts, method="fleiss")
    assert fleiss_kappa(table, LabelSchema(LabelKind.SINGLE, ("a", "b", "c", "d"))).value == pytest.approx(
        expected, abs=1e-12)


def gwet_reference(data: np.ndarray, q: int) -> tuple[float, float]:
    """Fleiss' kappa and AC1 with missing ratings, one unit at a time (Gwet 2014, ch. 2 and 4)."""
    units = [col[~np.isnan(col)].astype(int) for col in data.T]
    rated = [u for u in units if len(u) >= 1]
    pairable = [u for u in units if len(u) >= 2]
    pa = sum(sum(np.sum(u == k) * (np.sum(u == k) - 1) for k in range(q)) / (len(u) * (len(u) - 1))
             for u in pairable) / len(pairable)
    pi = [sum(np.sum(u == k) / len(u) for u in rated) / len(rated) for k in range(q)]
    pe_fleiss = sum(p * p for p in pi)
    pe_ac1 = sum(p * (1 - p) for p in pi) / (q - 1)
    return (pa - pe_fleiss) / (1 - pe_fleiss), (pa - pe_ac1) / (1 - pe_ac1)


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_and_ac1_with_missing_match_gwet_formulas(seed):
    data = random_ratings(seed, raters=6, units=100, k=3, missing=0.4)
    labels = ("a", "b", "c")
    table = to_table(data, labels)
    schema = LabelSchema(LabelKind.SINGLE, labels)
    kappa, ac1 = gwet_reference(data, 3)
    assert fleiss_kappa(table, schema).value == pytest.approx(kappa, abs=1e-12)
    assert gwet_ac1(table, schema).value == pytest.approx(ac1, abs=1e-12)


def test_hand_worked_two_raters():
    # rater A: a a b b a ; rater B: a b b b a -> po = 4/5; marginals A (3a, 2b), B (2a, 3b)
    # pe = (3*2 + 2*3) / 25 = 12/25 ; kappa = (20/25 - 12/25) / (13/25) = 8/13
    table = pd.DataFrame({"unit": [f"u{i}" for i in range(5)] * 2, "annotator": ["A"] * 5 + ["B"] * 5,
                          "label": list("aabba") + list("abbba")})
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    assert cohen_kappa(table, schema).value == pytest.approx(8 / 13)
    assert percent_agreement(table, schema).value == pytest.approx(0.8)
    # alpha nominal by hand: coincidences o_aa = 4, o_bb = 4, o_ab = o_ba = 1; n_a = n_b = 5, n = 10
    # alpha = 1 - (n - 1) * D_o / D_e = 1 - 9 * 2 / (2 * 25) = 0.64
    assert krippendorff_alpha_nominal(table, schema).value == pytest.approx(0.64)


def test_everyone_agrees_alpha_and_kappa_are_undefined_not_nan():
    table = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "annotator": ["A", "B", "A", "B"],
                          "label": ["a", "a", "a", "a"]})
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    for fn in (krippendorff_alpha_nominal, fleiss_kappa, cohen_kappa):
        res = fn(table, schema)
        assert res.value is None and "undefined" in res.note
    assert "no variation" in krippendorff_alpha_nominal(table, schema).note
    # AC1 stays defined there (the paradox it was made for): perfect agreement
    assert gwet_ac1(table, schema).value == pytest.approx(1.0)
    assert percent_agreement(table, schema).value == 1.0


def test_units_with_one_label_are_not_pairable():
    table = pd.DataFrame({"unit": ["u1", "u2", "u3"], "annotator": ["A", "B", "C"], "label": ["a", "b", "a"]})
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    for fn in (krippendorff_alpha_nominal, fleiss_kappa, gwet_ac1, percent_agreement):
        res = fn(table, schema)
        assert res.value is None and "two or more labels" in res.note


def test_empty_table_and_single_annotator():
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    empty = pd.DataFrame(columns=["unit", "annotator", "label"])
    for fn in (krippendorff_alpha_nominal, fleiss_kappa, gwet_ac1, cohen_kappa, percent_agreement):
        res = fn(empty, schema)
        assert res.value is None and res.note == "no annotations"
    one = pd.DataFrame({"unit": ["u1", "u2"], "annotator": ["A", "A"], "label": ["a", "b"]})
    assert cohen_kappa(one, schema).note == "undefined: needs two or more annotators"


def test_interval_alpha_needs_ordinal_labels_and_says_how_it_measured():
    schema = LabelSchema(LabelKind.ORDINAL, ("low", "mid", "high"))
    table = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "annotator": ["A", "B", "A", "B"],
                          "label": ["low", "mid", "high", "high"]})
    res = krippendorff_alpha_interval(table, schema)
    assert res.value is not None and "scale positions" in res.note
    res = krippendorff_alpha_ordinal(table, LabelSchema(LabelKind.SINGLE, ("low", "mid", "high")))
    assert res.value is None and "ordinal" in res.note
