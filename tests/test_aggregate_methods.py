"""Aggregators on simulated crowds with known truth, against plain reference implementations, and
the tie rule, gold clamping and convergence notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate.dawid_skene import dawid_skene, one_coin_dawid_skene
from workbench.aggregate.mace import digamma, mace
from workbench.aggregate.majority import majority_vote, wawa, weighted_majority
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema

from benchmarks.crowd import make_crowd

FIXTURES = Path(__file__).parent / "fixtures" / "crowdkit"


def accuracy(result, truth: pd.Series) -> float:
    labels = result.labels.set_index("unit")["label"]
    return float((labels.astype(object) == truth.reindex(labels.index).astype(object)).mean())


def schema_for(crowd) -> LabelSchema:
    return LabelSchema(LabelKind.SINGLE, crowd.classes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dawid_skene_and_mace_beat_majority_with_spammers_and_biased_annotators(seed):
    crowd = make_crowd(n_tasks=2000, n_workers=25, n_classes=3, overlap=5, accuracy=(0.6, 0.9),
                       spammers=0.3, biased=0.2, seed=seed)
    table, schema = crowd.long_table(), schema_for(crowd)
    mv = accuracy(majority_vote(table, schema), crowd.truth)
    ds = accuracy(dawid_skene(table, schema), crowd.truth)
    mc = accuracy(mace(table, schema), crowd.truth)
    oc = accuracy(one_coin_dawid_skene(table, schema), crowd.truth)
    assert ds > mv + 0.03, (mv, ds)
    assert mc > mv + 0.03, (mv, mc)
    assert oc > mv, (mv, oc)


def test_mace_finds_the_spammers():
    crowd = make_crowd(n_tasks=1500, n_workers=12, n_classes=4, overlap=5, accuracy=(0.7, 0.9),
                       spammers=0.25, seed=7)
    res = mace(crowd.long_table(), schema_for(crowd))
    comp = res.annotators.set_index("annotator")["competence"]
    kind = pd.Series(crowd.kind, index=[f"w{i}" for i in range(len(crowd.kind))])
    assert comp[kind[kind == "spammer"].index].max() < comp[kind[kind == "honest"].index].min()


def reference_dawid_skene(table: pd.DataFrame, classes: tuple, iterations: int, gold: dict | None = None,
                          alpha: np.ndarray | None = None):
    """Dawid-Skene EM written out with loops over units and annotators, for a small table; ``alpha``
    ([true, given] pseudo-counts): the MAP variant, every confusion row with that Dirichlet prior."""
    units = list(dict.fromkeys(table["unit"]))
    workers = list(dict.fromkeys(table["annotator"]))
    k = len(classes)
    ci = {c: i for i, c in enumerate(classes)}
    rows = [(units.index(u), workers.index(a), ci[lab]) for u, a, lab in table.itertuples(index=False)]
    post = np.zeros((len(units), k))
    for u, _, y in rows:
        post[u, y] += 1
    post /= post.sum(axis=1, keepdims=True)

    def clamp(p):
        for name, lab in (gold or {}).items():
            if name in units:
                p[units.index(name)] = np.eye(k)[ci[lab]]
        return p

    post = clamp(post)
    for _ in range(iterations):
        prior = post.mean(axis=0)
        conf = np.zeros((len(workers), k, k))  # [worker, true, given]
        for u, w, y in rows:
            conf[w, :, y] += post[u]
        gave = np.zeros((len(workers), k), dtype=bool)
        for _, w, y in rows:
            gave[w, y] = True
        if alpha is None:
            conf = np.where(gave[:, None, :], np.maximum(conf, 1e-10), 0.0)  # labels never given: 0, as crowd-kit
        else:
            conf = conf + alpha[None, :, :]
        conf /= conf.sum(axis=2, keepdims=True)
        logp = np.tile(np.log(np.maximum(prior, 1e-10)), (len(units), 1))
        for u, w, y in rows:
            logp[u] += np.log(conf[w, :, y])  # a given label: never 0
        post = np.exp(logp - logp.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        post = clamp(post)
    return units, post


@pytest.mark.parametrize("with_gold", [False, True])
def test_dawid_skene_matches_a_loop_reference(with_gold):
    crowd = make_crowd(n_tasks=120, n_workers=8, n_classes=3, overlap=4, spammers=0.25, seed=11, shuffle=True)
    table = crowd.long_table()
    gold = dict(list(crowd.truth.items())[:10]) if with_gold else None
    res = dawid_skene(table, schema_for(crowd), gold=gold, max_iter=7, tol=0.0)
    assert "did not converge" in res.notes[0]
    units, post = reference_dawid_skene(table, crowd.classes, 7, gold)
    got = res.posteriors.loc[units, list(crowd.classes)].to_numpy()
    np.testing.assert_allclose(got, post, atol=1e-9)


@pytest.mark.parametrize("with_gold", [False, True])
def test_dawid_skene_with_a_prior_matches_a_loop_reference(with_gold):
    crowd = make_crowd(n_tasks=120, n_workers=8, n_classes=3, overlap=4, spammers=0.25, seed=11, shuffle=True)
    table = crowd.long_table()
    gold = dict(list(crowd.truth.items())[:10]) if with_gold else None
    res = dawid_skene(table, schema_for(crowd), gold=gold, max_iter=7, tol=0.0, prior=3, prior_accuracy=0.8)
    assert "did not converge" in res.notes[0]
    assert "Dirichlet prior worth 3 answer(s), 0.8 on the diagonal" in res.notes[-1]
    alpha = np.full((3, 3), 3 * 0.2 / 2)
    np.fill_diagonal(alpha, 3 * 0.8)
    units, post = reference_dawid_skene(table, crowd.classes, 7, gold, alpha)
    got = res.posteriors.loc[units, list(crowd.classes)].to_numpy()
    np.testing.assert_allclose(got, post, atol=1e-9)
    plain = dawid_skene(table, schema_for(crowd), gold=gold, max_iter=7, tol=0.0)
    assert not np.allclose(plain.posteriors.loc[units, list(crowd.classes)].to_numpy(), post, atol=1e-6)


def test_dawid_skene_prior_keeps_a_newcomer_near_the_prior():
    """Maximum likelihood takes an annotator seen on two units of a class, right on both, as always right
    on that class; with a prior worth 4 answers at 0.7 that confusion entry is (2 + 2.8) / (2 + 4)."""
    crowd = make_crowd(n_tasks=300, n_workers=10, n_classes=3, overlap=5, accuracy=(0.8, 0.95), seed=4)
    table = crowd.long_table()
    c = crowd.classes[0]
    units = [u for u, t in crowd.truth.items() if t == c][:2]
    new = pd.DataFrame({"unit": units, "annotator": "newcomer", "label": c})
    table = pd.concat([table, new], ignore_index=True)
    schema = schema_for(crowd)

    def right(res):  # P(newcomer says c | truth c)
        return res.annotators.set_index("annotator").loc["newcomer", "confusion"][0, 0]

    ml, mapped = dawid_skene(table, schema), dawid_skene(table, schema, prior=4)
    assert right(ml) > 0.999 and right(mapped) == pytest.approx(4.8 / 6, abs=0.01), (right(ml), right(mapped))
    # the converged MAP fit stops by the same rule, on the bound plus the prior's log density
    assert "converged after" in mapped.notes[0]


def test_gold_is_clamped():
    crowd = make_crowd(n_tasks=300, n_workers=10, n_classes=3, overlap=3, spammers=0.5, seed=5)
    table = crowd.long_table()
    # claim the opposite of the crowd on a few units: the output must follow gold there
    mv = majority_vote(table, schema_for(crowd)).labels.set_index("unit")["label"]
    gold = {u: next(c for c in crowd.classes if c != mv[u]) for u in list(mv.index)[:15]}
    for fn in (dawid_skene, mace):
        res = fn(table, schema_for(crowd), gold=gold)
        labels = res.labels.set_index("unit")
        assert all(labels.loc[u, "label"] == g and labels.loc[u, "confidence"] == 1.0 for u, g in gold.items())
        assert any("15 gold unit(s) clamped" in n for n in res.notes)


def test_em_stops_at_max_iter_and_says_so():
    crowd = make_crowd(n_tasks=400, n_workers=10, n_classes=3, overlap=3, seed=3)
    res = dawid_skene(crowd.long_table(), schema_for(crowd), max_iter=2)
    assert res.notes[0].startswith("dawid_skene: did not converge: stopped at max_iter=2")
    res = dawid_skene(crowd.long_table(), schema_for(crowd))
    assert "converged after" in res.notes[0]


def test_bad_options_are_one_clear_error():
    crowd = make_crowd(n_tasks=20, n_workers=5, overlap=3)
    with pytest.raises(WorkbenchError, match="max_iter: expected a whole number >= 1"):
        dawid_skene(crowd.long_table(), schema_for(crowd), max_iter=0)
    with pytest.raises(WorkbenchError, match="aggregate option 'iterations' is not known to dawid_skene"):
        dawid_skene(crowd.long_table(), schema_for(crowd), iterations=5)
    with pytest.raises(WorkbenchError, match=r"dawid_skene: prior: expected a number of pseudo-answers > 0 .*got 0"):
        dawid_skene(crowd.long_table(), schema_for(crowd), prior=0)
    with pytest.raises(WorkbenchError, match=r"dawid_skene: prior_accuracy: expected a share in \(0, 1\), got 1.5"):
        dawid_skene(crowd.long_table(), schema_for(crowd), prior=2, prior_accuracy=1.5)
    with pytest.raises(WorkbenchError, match="dawid_skene: prior_accuracy is set but prior is not"):
        dawid_skene(crowd.long_table(), schema_for(crowd), prior_accuracy=0.8)
    with pytest.raises(WorkbenchError, match="aggregate option 'prior' is not known to one_coin_dawid_skene"):
        one_coin_dawid_skene(crowd.long_table(), schema_for(crowd), prior=2)
    with pytest.raises(WorkbenchError, match="mace: method: expected 'em' or 'vb'"):
        mace(crowd.long_table(), schema_for(crowd), method="gibbs")


def test_majority_tie_rule_and_ties_reported():
    schema = LabelSchema(LabelKind.SINGLE, ("pos", "neg", "neu"))
    table = pd.DataFrame({
        "unit": ["u1", "u1", "u2", "u2", "u2", "u3", "u3"],
        "annotator": ["a", "b", "a", "b", "c", "a", "b"],
        "label": ["neg", "pos", "neu", "neu", "neg", "neu", "neg"],
    })
    res = majority_vote(table, schema)
    labels = res.labels.set_index("unit")
    assert labels.loc["u1", "label"] in ("pos", "neg")  # tied: drawn by the unit's id
    assert labels.loc["u3", "label"] in ("neu", "neg")
    assert labels.loc["u2", "label"] == "neu" and labels.loc["u2", "confidence"] == pytest.approx(2 / 3)
    assert sorted(res.ties) == ["u1", "u3"]
    # the tie list reads like a list (its names are made strings on first use)
    assert len(res.ties) == 2 and res.ties == ["u1", "u3"] and res.ties[-1] == "u3" and "u1" in res.ties
    assert res.ties != ["u1"] and list(res.ties) == ["u1", "u3"] and repr(res.ties) == "['u1', 'u3']"
    assert list(labels["n_annotations"]) == [2, 3, 2]
    assert res.posteriors.loc["u2"].to_dict() == pytest.approx({"pos": 0, "neg": 1 / 3, "neu": 2 / 3})


def test_ties_are_drawn_without_bias_and_the_same_in_every_run():
    """Ties used to go to the first label in schema order: on balanced data every tie favoured it.
    The draw is keyed on the unit id: about half of 2 000 one-one ties go to each label, and a unit
    gets the same label whatever else the table holds and in whatever order its rows come."""
    schema = LabelSchema(LabelKind.SINGLE, ("pos", "neg", "neu"))
    n = 2000
    units = [f"unit-{i}" for i in range(n)]
    table = pd.DataFrame({"unit": np.repeat(units, 2), "annotator": ["a", "b"] * n, "label": ["pos", "neg"] * n})
    res = majority_vote(table, schema)
    assert len(res.ties) == n and "each broken by a draw keyed on its unit id" in res.notes[-1]
    share = (res.labels["label"] == "pos").mean()
    assert 0.46 < share < 0.54, share  # binomial(2000, 0.5): 0.46-0.54 is beyond 3.5 sigma
    first = res.labels.set_index("unit")["label"]
    # the same units in another order, with other units beside them: the same labels
    more = pd.concat([table.iloc[::-1], pd.DataFrame({"unit": ["z1"] * 2, "annotator": ["a", "b"],
                                                      "label": ["neu", "neu"]})], ignore_index=True)
    again = majority_vote(more, schema).labels.set_index("unit")["label"]
    assert (again[first.index] == first).all()
    # three-way ties too: each of the three labels wins about a third of them
    three = pd.DataFrame({"unit": np.repeat(units, 3), "annotator": ["a", "b", "c"] * n,
                          "label": ["pos", "neg", "neu"] * n})
    shares = majority_vote(three, schema).labels["label"].value_counts(normalize=True)
    assert set(shares.index) == {"pos", "neg", "neu"} and shares.between(0.29, 0.38).all(), shares


def test_multi_labels_are_voted_as_whole_sets():
    schema = LabelSchema(LabelKind.MULTI, ("x", "y", "z"))
    table = pd.DataFrame({"unit": ["u1"] * 3 + ["u2"] * 2, "annotator": ["a", "b", "c", "a", "b"],
                          "label": [("x", "y"), ("x", "y"), ("z",), (), ("y",)]})
    res = majority_vote(table, schema)
    labels = res.labels.set_index("unit")["label"]
    assert labels["u1"] == ("x", "y")
    assert labels["u2"] in ((), ("y",)) and list(res.ties) == ["u2"]  # a tie, drawn by the unit's id
    ds = dawid_skene(table, schema)
    assert ds.labels.set_index("unit")["label"]["u1"] == ("x", "y")


def test_weighted_majority_uses_gold_accuracy():
    crowd = make_crowd(n_tasks=1500, n_workers=15, n_classes=3, overlap=5, accuracy=(0.75, 0.95),
                       spammers=0.4, seed=9)
    table, schema = crowd.long_table(), schema_for(crowd)
    gold = dict(list(crowd.truth.items())[:300])
    res = weighted_majority(table, schema, gold=gold)
    weights = res.annotators.set_index("annotator")["weight"]
    kind = pd.Series(crowd.kind, index=[f"w{i}" for i in range(len(crowd.kind))])
    assert weights[kind[kind == "spammer"].index].max() < weights[kind[kind == "honest"].index].min()
    rest = crowd.truth.iloc[300:]
    held = res.labels[res.labels["unit"].isin(rest.index)]
    mv = majority_vote(table, schema).labels
    assert accuracy(type(res)("w", held), rest) > accuracy(type(res)("m", mv[mv["unit"].isin(rest.index)]), rest)
    with pytest.raises(WorkbenchError, match="weighted_majority needs gold labels"):
        weighted_majority(table, schema, gold={})


def test_wawa_weights_by_agreement_with_majority():
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    # u1-u3: c disagrees with the majority; u4 is a 1-1 tie that majority's draw gives to "a",
    # so b agrees 3 times out of 4 and c once out of 4: weighted by those skills, u4 goes to b
    table = pd.DataFrame({
        "unit": ["u1"] * 3 + ["u2"] * 3 + ["u3"] * 3 + ["u4"] * 2,
        "annotator": ["a", "b", "c"] * 3 + ["b", "c"],
        "label": ["a", "a", "b", "b", "b", "a", "a", "a", "b", "b", "a"],
    })
    res = wawa(table, schema)
    skill = res.annotators.set_index("annotator")["skill"]
    assert skill.to_dict() == pytest.approx({"a": 1.0, "b": 0.75, "c": 0.25})
    assert majority_vote(table, schema).labels.set_index("unit").loc["u4", "label"] == "a"
    assert res.labels.set_index("unit").loc["u4", "label"] == "b"


def test_crowdkit_column_names_and_shuffled_rows_give_the_same_result():
    crowd = make_crowd(n_tasks=500, n_workers=12, overlap=4, spammers=0.2, seed=4)
    shuffled = make_crowd(n_tasks=500, n_workers=12, overlap=4, spammers=0.2, seed=4, shuffle=True)
    from workbench.models import as_long_table

    schema = schema_for(crowd)
    a = dawid_skene(as_long_table(crowd.table), schema).labels.set_index("unit").sort_index()
    b = dawid_skene(as_long_table(shuffled.table), schema).labels.set_index("unit").sort_index()
    assert (a["label"] == b["label"]).mean() > 0.99  # same data, other row order


def test_digamma_matches_known_values():
    # psi(1) = -gamma, psi(1/2) = -gamma - 2 ln 2, psi(n + 1) = psi(n) + 1/n
    gamma = 0.5772156649015329
    got = digamma(np.array([1.0, 0.5, 10.0, 123.4]))
    assert got[0] == pytest.approx(-gamma, abs=1e-12)
    assert got[1] == pytest.approx(-gamma - 2 * np.log(2), abs=1e-12)
    assert got[2] == pytest.approx(-gamma + sum(1 / n for n in range(1, 10)), abs=1e-12)
    assert digamma(np.array([124.4]))[0] - got[3] == pytest.approx(1 / 123.4, abs=1e-12)


def test_every_method_and_metric_takes_crowdkit_column_names():
    from workbench.registry import get_registry

    crowd = make_crowd(n_tasks=200, n_workers=8, overlap=3, seed=12)
    schema = schema_for(crowd)
    reg = get_registry()
    ours = crowd.long_table()
    binary = make_crowd(n_tasks=200, n_workers=8, n_classes=2, overlap=3, seed=12)
    for name, agg in reg.all("aggregators").items():
        if schema.kind not in agg.kinds:
            continue
        c = binary if name == "kos" else crowd  # kos: two labels only
        gold = dict(list(c.truth.items())[:20])
        a = agg.func(c.table, schema_for(c), gold=gold).labels
        b = agg.func(c.long_table(), schema_for(c), gold=gold).labels
        assert a["label"].astype(str).tolist() == b["label"].astype(str).tolist(), name
    for name, metric in reg.all("metrics").items():
        if schema.kind in metric.kinds:
            assert metric.func(crowd.table, schema).value == metric.func(ours, schema).value, name


def test_mace_learns_the_class_prior_on_a_skewed_long_tailed_crowd():
    """A product-matching-shaped crowd (12% positive, 3 answers per item, a few workers give most
    answers): with the paper's uniform prior MACE explains the skew by the workers' strategies and
    calls many rare positives spam (accuracy 0.65 here, below majority vote); with the learned prior
    it is right on 0.93 of the items. crowd-kit's outputs on the same crowd are a stored fixture
    (benchmarks/crowdkit_em_fixtures.py)."""
    from benchmarks.crowdkit_em_fixtures import mace_skewed_crowd

    crowd = mace_skewed_crowd()
    fixture = pd.read_csv(FIXTURES / "mace_skewed.csv", dtype=str).set_index("task")
    assert fixture["truth"].equals(crowd.truth.astype(str).rename("truth").rename_axis("task"))  # the same crowd
    table, schema = crowd.long_table(), schema_for(crowd)
    learned, uniform = mace(table, schema), mace(table, schema, prior="uniform")
    mv = accuracy(majority_vote(table, schema), crowd.truth)
    ck = float((fixture["crowdkit"] == fixture["truth"]).mean())
    assert "learned prior" in learned.notes[0] and "class prior c0 0.8" in learned.notes[0]
    assert accuracy(uniform, crowd.truth) < mv  # the old behaviour
    assert accuracy(learned, crowd.truth) > 0.92
    assert accuracy(learned, crowd.truth) > max(mv, ck) + 0.05
    # the uniform prior is the paper's (and crowd-kit's) model: the same labels as crowd-kit's
    # where crowd-kit's strategy table lines up with its workers (see the fixture's README)
    labels = uniform.labels.set_index("unit")["label"].reindex(fixture.index)
    assert (labels == fixture["crowdkit_aligned"]).mean() >= 0.97


def test_mace_prior_option_is_checked():
    crowd = make_crowd(n_tasks=20, n_workers=5, overlap=3)
    with pytest.raises(WorkbenchError, match="mace: prior: expected 'learned' or 'uniform', got 'flat'"):
        mace(crowd.long_table(), schema_for(crowd), prior="flat")


@pytest.mark.parametrize("crowd_name", ["skewed", "four_classes"])
@pytest.mark.parametrize("one_coin", [False, True])
def test_dawid_skene_stops_where_crowdkit_stops(crowd_name, one_coin):
    """The same stopping rule as crowd-kit's DawidSkene / OneCoinDawidSkene (its bound per annotation,
    stored from crowd-kit with its labels: benchmarks/crowdkit_em_fixtures.py): the same value at every
    iteration, the same number of iterations, the same labels. Before, EM stopped on the
    log-likelihood, after 62 iterations on the skewed crowd where crowd-kit runs 100."""
    import json

    from workbench.aggregate.dawid_skene import _one_coin_confusion, fit_em, full_confusion
    from workbench.table.encode import encode

    from benchmarks.crowdkit_em_fixtures import DS_CROWDS

    crowd = make_crowd(**DS_CROWDS[crowd_name])
    fixture = pd.read_csv(FIXTURES / f"dawid_skene_{crowd_name}.csv", dtype=str).set_index("task")
    assert fixture["truth"].equals(crowd.truth.astype(str).rename("truth").rename_axis("task"))
    method = "one_coin_dawid_skene" if one_coin else "dawid_skene"
    theirs = json.loads((FIXTURES / "dawid_skene_history.json").read_text())[crowd_name][method]
    table, schema = crowd.long_table(), schema_for(crowd)
    enc = encode(table, schema)
    n, k, per = enc.n_annotators, enc.n_classes, enc.per_annotator()
    step = (lambda e: _one_coin_confusion(e, n, k, per)) if one_coin else (lambda e: full_confusion(e, n, k))
    fit = fit_em(enc, step, max_iter=100, tol=1e-5)
    assert len(fit.history) == len(theirs)
    np.testing.assert_allclose(fit.history, theirs, rtol=0, atol=1e-9)
    result = (one_coin_dawid_skene if one_coin else dawid_skene)(table, schema)
    labels = result.labels.set_index("unit")["label"].reindex(fixture.index)
    assert (labels == fixture[method]).all()


def test_a_label_never_given_has_probability_zero():
    """Someone who always answers c0 answers c0 whatever the truth (crowd-kit's M step): with every
    label floored, the true classes none of their units pointed to were spread over all labels."""
    crowd = make_crowd(n_tasks=300, n_workers=8, n_classes=3, overlap=3, seed=2)
    table = crowd.long_table()
    table.loc[table["annotator"] == "w0", "label"] = "c0"
    res = dawid_skene(table, schema_for(crowd))
    conf = res.annotators.set_index("annotator").loc["w0", "confusion"]
    np.testing.assert_allclose(conf[:, 0], 1.0)
    units, post = reference_dawid_skene(table, crowd.classes, 5)
    got = dawid_skene(table, schema_for(crowd), max_iter=5, tol=0.0).posteriors.loc[units, list(crowd.classes)]
    np.testing.assert_allclose(got.to_numpy(), post, atol=1e-9)
