"""GLAD, M-MSR, KOS, binary relevance (label sets) and the ordinal median.

Against crowd-kit's labels stored in tests/fixtures/crowdkit/ (written by
benchmarks/crowdkit_fixtures.py in crowd-kit's venv: the crowd is rebuilt here with the same
function and seed, and its digest checked first), against the truth of simulated crowds, and on
bad input, ties and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.aggregate import break_ties
from workbench.aggregate.choose import aggregate_table
from workbench.aggregate.ordinal import median_candidates
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema, label_key
from workbench.registry import get_registry
from workbench.spec.check import check_aggregation

from benchmarks.crowd import make_crowd
from benchmarks.crowdkit_fixtures import CROWDS, crowd_table, table_digest
from benchmarks.multilabel_crowd import make_multilabel_crowd, make_ordinal_crowd

FIXTURES = Path(__file__).parent / "fixtures" / "crowdkit"
NEW = ["glad", "mmsr", "kos", "binary_relevance", "ordinal_median"]


def run_method(method, table, schema, **options):
    return get_registry().get("aggregators", method).func(table, schema, **options)


def long(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(columns={"task": "unit", "worker": "annotator"})


def t(units, annotators, labels) -> pd.DataFrame:
    return pd.DataFrame({"unit": units, "annotator": annotators, "label": labels})


def reference(crowd: str, method: str) -> pd.Series:
    frame = pd.read_csv(FIXTURES / f"{crowd}.{method}.csv", dtype=str, keep_default_na=False)
    return frame.set_index("task")["label"]


def cases():
    return [(name, m) for name, (_, _, methods) in CROWDS.items() for m in methods]


@pytest.fixture(scope="module")
def stored():
    return json.loads((FIXTURES / "crowds.json").read_text())


def rebuilt(name: str, stored) -> pd.DataFrame:
    table = crowd_table(name)
    meta = stored["crowds"][name]
    now = json.loads(json.dumps([CROWDS[name][0], CROWDS[name][1]]))  # tuples as JSON lists
    assert [meta["maker"], meta["kwargs"]] == now, "CROWDS changed: regenerate"
    assert len(table) == meta["rows"] and table_digest(table) == meta["sha256"], (
        f"crowd {name} is not the one crowd-kit saw: regenerate tests/fixtures/crowdkit (see its README)")
    return table


@pytest.mark.parametrize("name, method", cases())
def test_same_labels_as_crowdkit(name, method, stored):
    table = rebuilt(name, stored)
    ref = reference(name, method)
    kwargs = CROWDS[name][1]
    if method.startswith("br_"):
        schema = LabelSchema(LabelKind.MULTI, tuple(f"l{i}" for i in range(kwargs["n_labels"])))
        res = run_method("binary_relevance", long(table), schema, base=method[3:])
        got = res.labels.set_index("unit")["label"].reindex(ref.index)
        ref_sets = ref.map(lambda s: tuple(json.loads(s)))
        # per (unit, label) decision: is the label in the set?
        decisions = [(lab in a) == (lab in b) for a, b in zip(got, ref_sets) for lab in schema.labels]
        assert np.mean(decisions) >= 0.99
        whole = float(np.mean([a == b for a, b in zip(got, ref_sets)]))
        assert whole >= 0.99  # the bar (both are 100% since Dawid-Skene stops by crowd-kit's rule)
        return
    schema = LabelSchema(LabelKind.SINGLE, tuple(f"c{i}" for i in range(kwargs["n_classes"])))
    res = run_method(method, long(table), schema)
    got = res.labels.set_index("unit")["label"].astype(str).reindex(ref.index)
    same = (got == ref).to_numpy()
    if method == "mmsr":
        # crowd-kit divides the weighted votes by their sum before taking the largest: where that sum is
        # negative (units voted by annotators it rates worse than chance) its pick is the *smallest*
        # score. The methods agree in definition where the sum is positive.
        weight = res.annotators.set_index("annotator")["weight"]
        total = long(table).assign(w=lambda d: d["annotator"].map(weight)).groupby("unit")["w"].sum()
        positive = (total.reindex(ref.index) > 0).to_numpy()
        assert positive.mean() > 0.9
        assert same[positive].mean() >= 0.99
        assert same.mean() >= 0.98
    else:
        assert same.mean() >= 0.99, f"{name}.{method}: {same.mean():.4f}"


def accuracy(res, truth: pd.Series) -> float:
    return float((res.labels.set_index("unit")["label"].astype(str).reindex(truth.index) == truth).mean())


@pytest.mark.parametrize("seed", [1, 2])
def test_glad_and_mmsr_beat_majority_with_spammers(seed):
    crowd = make_crowd(n_tasks=800, n_workers=20, n_classes=3, overlap=5, spammers=0.4, seed=seed)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    mv = accuracy(run_method("majority", crowd.long_table(), schema), crowd.truth)
    glad = run_method("glad", crowd.long_table(), schema)
    assert accuracy(glad, crowd.truth) > mv + 0.04
    assert accuracy(run_method("mmsr", crowd.long_table(), schema), crowd.truth) > mv + 0.04
    # abilities: spammers come out below honest annotators
    ability = glad.annotators.set_index("annotator")["ability"]
    kind = pd.Series(crowd.kind, index=[f"w{i}" for i in range(len(crowd.kind))])
    assert ability[kind == "spammer"].mean() < ability[kind == "honest"].mean() - 0.3
    assert (glad.labels["difficulty"] > 0).all() and glad.posteriors.to_numpy().sum(axis=1) == pytest.approx(1)


def test_kos_beats_majority_on_binary_with_spammers():
    crowd = make_crowd(n_tasks=1000, n_workers=20, n_classes=2, overlap=5, spammers=0.4, seed=2)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    mv = accuracy(run_method("majority", crowd.long_table(), schema), crowd.truth)
    res = run_method("kos", crowd.long_table(), schema)
    assert accuracy(res, crowd.truth) > mv + 0.04
    conf = res.labels["confidence"].to_numpy()
    assert ((conf >= 0.5) & (conf <= 1)).all()


def test_glad_clamps_gold():
    crowd = make_crowd(n_tasks=300, n_workers=10, n_classes=3, overlap=3, spammers=0.5, seed=4)
    schema = LabelSchema(LabelKind.SINGLE, crowd.classes)
    gold = crowd.truth.iloc[:50].to_dict()
    res = run_method("glad", crowd.long_table(), schema, gold=gold)
    got = res.labels.set_index("unit")["label"].astype(str)
    assert (got[list(gold)] == pd.Series(gold)).all()
    assert any("50 gold unit(s) clamped" in n for n in res.notes)


def test_binary_relevance_scores_each_label_and_beats_whole_set_majority():
    crowd = make_multilabel_crowd(n_tasks=500, n_workers=15, n_labels=5, overlap=5, spammers=0.3, seed=3)
    schema = LabelSchema(LabelKind.MULTI, crowd.classes)
    table = crowd.long_table()
    whole = run_method("majority", table, schema)
    br = run_method("binary_relevance", table, schema)
    br_ds = run_method("binary_relevance", table, schema, base="dawid_skene", max_iter=50)

    def exact(res):
        got = res.labels.set_index("unit")["label"]
        return float(np.mean([got[u] == crowd.truth[u] for u in crowd.truth.index]))

    assert exact(br) > exact(whole) + 0.02
    assert exact(br_ds) > exact(br) + 0.05
    # posteriors: one column per schema label, P(label in the set); the set is what passes 0.5
    assert list(br.posteriors.columns) == list(schema.labels)
    for unit, labels in br.labels.set_index("unit")["label"].items():
        p = br.posteriors.loc[unit]
        assert labels == tuple(lab for lab in schema.labels if p[lab] > 0.5)
        assert isinstance(labels, tuple)
    # majority's posterior is the share of annotators who ticked the label
    u0 = table["unit"].iloc[0]
    rows = table[table["unit"] == u0]
    assert br.posteriors.loc[u0, "l1"] == pytest.approx(np.mean(["l1" in s for s in rows["label"]]))
    # label sets keep their JSON key (the store and the exports use it)
    assert label_key(br.labels["label"].iloc[0]) == json.dumps(sorted(br.labels["label"].iloc[0]))
    assert set(br_ds.annotators["label"]) == set(schema.labels)


def test_binary_relevance_ties_drawn_by_unit_and_label():
    schema = LabelSchema(LabelKind.MULTI, ("a", "b", "c"))
    units = [f"u{i}" for i in range(200)]
    # every unit: a in 2 of 4 sets (a tie), b in 4 of 4, c in 0 of 4
    table = t([u for u in units for _ in range(4)], ["w1", "w2", "w3", "w4"] * len(units),
              [s for _ in units for s in [("a", "b"), ("a", "b"), ("b",), ("b",)]])
    res = run_method("binary_relevance", schema=schema, table=table)
    assert list(res.ties) == units
    got = res.labels.set_index("unit")["label"]
    with_a = sum("a" in s for s in got)
    assert 60 < with_a < 140  # drawn, not always in or always out
    assert all("b" in s and "c" not in s for s in got)
    again = run_method("binary_relevance", table.iloc[::-1].reset_index(drop=True), schema)
    assert again.labels.set_index("unit")["label"].reindex(got.index).tolist() == got.tolist()


def test_ordinal_median_respects_the_order():
    schema = LabelSchema(LabelKind.ORDINAL, ("1", "2", "3", "4", "5"))
    table = t(["u1"] * 5 + ["u2"] * 5 + ["u3"] * 3,
              list("abcde") * 2 + list("abc"),
              ["1", "1", "4", "5", "5"] + ["1", "2", "3", "4", "4"] + ["1", "1", "5"])
    res = run_method("ordinal_median", table, schema)
    got = dict(zip(res.labels["unit"], res.labels["label"]))
    assert got == {"u1": "4", "u2": "3", "u3": "1"}
    mv = dict(zip(*[run_method("majority", table, schema).labels[c] for c in ("unit", "label")]))
    assert mv["u2"] == "4"  # majority ignores that most said less than 4
    assert list(res.ties) == []
    assert res.labels.set_index("unit").loc["u1", "confidence"] == pytest.approx(0.2)


def test_ordinal_median_even_split_is_a_tie_drawn_by_unit_id():
    schema = LabelSchema(LabelKind.ORDINAL, ("1", "2", "3", "4", "5"))
    units = [f"unit-{i}" for i in range(300)]
    table = t([u for u in units for _ in range(4)], ["a", "b", "c", "d"] * len(units), ["1", "1", "5", "5"] * len(units))
    res = run_method("ordinal_median", table, schema)
    assert list(res.ties) == units
    drawn = res.labels["label"].astype(str)
    counts = drawn.value_counts()
    assert set(counts.index) == {"1", "2", "3", "4", "5"}  # every grade between the two middle votes
    assert counts.min() > 30
    expected = break_ties(np.ones((len(units), 5), dtype=bool), pd.array(units, dtype="str"))
    assert drawn.tolist() == [str(i + 1) for i in expected]
    # candidates: only the grades between the lower and upper median
    assert median_candidates(np.array([[0, 2, 0, 2, 0.0]])).tolist() == [[False, True, True, True, False]]


def test_ordinal_median_beats_majority_on_an_ordinal_crowd():
    crowd = make_ordinal_crowd(n_tasks=1000, n_workers=15, n_levels=5, overlap=5, spammers=0.2, seed=1)
    schema = LabelSchema(LabelKind.ORDINAL, crowd.classes)
    pos = {g: i for i, g in enumerate(crowd.classes)}

    def mae(res):
        got = res.labels.set_index("unit")["label"].astype(str).reindex(crowd.truth.index)
        return float(np.mean(np.abs(got.map(pos).to_numpy() - crowd.truth.map(pos).to_numpy())))

    assert mae(run_method("ordinal_median", crowd.long_table(), schema)) < mae(
        run_method("majority", crowd.long_table(), schema)) - 0.05


@pytest.mark.parametrize("method", ["glad", "mmsr", "kos"])
def test_ties_are_drawn_by_unit_id(method):
    schema = LabelSchema(LabelKind.SINGLE, ("x", "y"))
    units = [f"t{i}" for i in range(100)]
    # each unit: one x and one y from two annotators who are symmetric in every respect
    table = t([u for u in units for _ in range(2)], ["p", "q"] * 100, ["x", "y"] * 100)
    if method == "kos":
        # KOS starts from random messages, so symmetric annotators still differ; a unit is tied when its
        # annotators labeled nothing else (no other unit to send them a message)
        table["annotator"] = [f"{a}{u}" for u, a in zip(table["unit"], table["annotator"])]
    res = run_method(method, table, schema)
    assert len(res.ties) == 100
    drawn = res.labels["label"].astype(str)
    assert 25 < (drawn == "x").sum() < 75
    assert any("tied" in n for n in res.notes)


def test_kos_needs_two_labels():
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b", "c"))
    table = t(["u1", "u1"], ["x", "y"], ["a", "b"])
    with pytest.raises(WorkbenchError, match=r"^kos works on binary labels only .* 3 label\(s\): a, b, c$"):
        aggregate_table(get_registry(), schema, table, "kos")


@pytest.mark.parametrize("method, options, message", [
    ("glad", {"iterations": 5}, "aggregate option 'iterations' is not known to glad (known: max_iter, tol, "
                                "m_step_max_iter, m_step_tol)"),
    ("glad", {"max_iter": 0}, "glad: max_iter: expected a whole number >= 1, got 0"),
    ("glad", {"m_step_tol": "x"}, "glad: m_step_tol: expected a number >= 0, got 'x'"),
    ("mmsr", {"seed": -1}, "mmsr: seed: expected a whole number >= 0, got -1"),
    ("mmsr", {"n_iter": 3}, "aggregate option 'n_iter' is not known to mmsr (known: max_iter, tol, seed)"),
    ("kos", {"max_iter": True}, "kos: max_iter: expected a whole number >= 1, got True"),
    ("ordinal_median", {"weights": 1}, "aggregate option 'weights' is not known to ordinal_median (known: none)"),
    ("binary_relevance", {"base": "vote"}, "binary_relevance: base: expected one of majority, wawa, dawid_skene"),
    ("binary_relevance", {"base": "dawid_skene", "restarts": 3},
     "binary_relevance (base dawid_skene): aggregate option 'restarts' is not known to dawid_skene"),
    ("binary_relevance", {"max_iter": 3}, "binary_relevance (base majority): aggregate option 'max_iter' is not known"),
])
def test_bad_options_are_one_line_errors(method, options, message):
    schema = {"binary_relevance": LabelSchema(LabelKind.MULTI, ("a", "b")),
              "ordinal_median": LabelSchema(LabelKind.ORDINAL, ("a", "b"))}.get(
        method, LabelSchema(LabelKind.SINGLE, ("a", "b")))
    label = ("a",) if schema.kind is LabelKind.MULTI else "a"
    table = t(["u1", "u1"], ["x", "y"], [label, label])
    with pytest.raises(WorkbenchError) as err:
        aggregate_table(get_registry(), schema, table, method, **options)
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkbenchError) as err:  # a campaign file is checked before any step
        check_aggregation(None, get_registry(), method, options, schema)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("method, kind", [("ordinal_median", LabelKind.SINGLE), ("binary_relevance", LabelKind.SINGLE),
                                          ("ordinal_median", LabelKind.MULTI)])
def test_methods_refuse_other_label_kinds(method, kind):
    schema = LabelSchema(kind, ("a", "b"))
    label = ("a",) if kind is LabelKind.MULTI else "a"
    with pytest.raises(WorkbenchError, match=f"aggregator '{method}' works on .* labels, not {kind.value}"):
        aggregate_table(get_registry(), schema, t(["u1"], ["x"], [label]), method)


@pytest.mark.parametrize("method", NEW)
def test_empty_tables_and_descriptions(method):
    agg = get_registry().get("aggregators", method)
    assert agg.description and "\n" not in agg.description
    schema = {"binary_relevance": LabelSchema(LabelKind.MULTI, ("a", "b")),
              "ordinal_median": LabelSchema(LabelKind.ORDINAL, ("a", "b"))}.get(
        method, LabelSchema(LabelKind.SINGLE, ("a", "b")))
    res = agg.func(t([], [], []), schema)
    assert res.labels.empty


def test_auto_still_works_on_ordinal_scales():
    crowd = make_ordinal_crowd(n_tasks=200, n_workers=8, n_levels=4, overlap=3, seed=5)
    schema = LabelSchema(LabelKind.ORDINAL, crowd.classes)
    res = aggregate_table(get_registry(), schema, crowd.long_table(), "auto")
    assert res.method in ("dawid_skene", "majority") and len(res.labels) == 200


def test_cli_aggregate_file_with_glad(tmp_path):
    crowd = make_crowd(n_tasks=400, n_workers=12, n_classes=3, overlap=5, spammers=0.3, seed=9)
    path = tmp_path / "labels.csv"
    crowd.table.to_csv(path, index=False)
    out = tmp_path / "glad.csv"
    result = CliRunner().invoke(cli(), ["aggregate", str(path), "--method", "glad", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "method=glad, units=400, annotations=2000" in result.output
    written = pd.read_csv(out, dtype={"label": str})
    direct = run_method("glad", crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes))
    assert written["label"].tolist() == direct.labels["label"].astype(str).tolist()
    assert {"difficulty", "p_c0", "p_c1", "p_c2"} <= set(written.columns)
    bad = CliRunner().invoke(cli(), ["aggregate", str(path), "--method", "kos"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert bad.output.strip() == ("Error: kos works on binary labels only (a schema of exactly two labels); "
                                  "this one is single with 3 label(s): c0, c1, c2")


def test_cli_label_sets_file_with_binary_relevance(tmp_path):
    crowd = make_multilabel_crowd(n_tasks=200, n_workers=10, n_labels=4, overlap=5, spammers=0.2, seed=2)
    table = crowd.table.assign(label=crowd.table["label"].map(lambda s: json.dumps(list(s))))
    path = tmp_path / "sets.csv"
    table.to_csv(path, index=False)
    gold = tmp_path / "gold.csv"
    crowd.truth.iloc[:20].map(lambda s: json.dumps(list(s))).rename_axis("unit").rename("label").reset_index().to_csv(
        gold, index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli(), ["aggregate", str(path), "--kind", "multi", "--method", "binary_relevance",
                                        "--gold", str(gold), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "method=binary_relevance, units=200, annotations=1000" in result.output
    assert "accuracy vs gold:" in result.output
    written = pd.read_csv(out)
    direct = run_method("binary_relevance", crowd.long_table(), LabelSchema(LabelKind.MULTI, crowd.classes))
    assert written["label"].tolist() == [json.dumps(list(s)) for s in direct.labels["label"]]
    assert [f"p_l{i}" for i in range(4)] == [c for c in written.columns if c.startswith("p_")]
    for command in (["agreement"], ["annotators"]):
        assert CliRunner().invoke(cli(), [*command, str(path), "--kind", "multi"]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,annotator,label\nu1,a,\"[\"\"x\"\"]\"\nu1,b,x\n")
    result = CliRunner().invoke(cli(), ["aggregate", str(bad), "--kind", "multi"])
    assert result.exit_code == 1 and result.output.strip() == (
        f"Error: {bad}: row 2: label 'x' is not a label set (--kind multi expects a JSON list such as [\"a\", \"b\"])")


@pytest.mark.parametrize("method", ["glad", "mmsr", "kos"])
def test_annotators_with_nothing_in_common_keep_their_votes(method):
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    # no two annotators share a unit: nothing to weigh anyone by, so each unit keeps its one vote
    table = t(["u1", "u2", "u3", "u4"], ["x", "y", "z", "x"], ["a", "b", "a", "b"])
    res = run_method(method, table, schema)
    assert res.labels["label"].astype(str).tolist() == ["a", "b", "a", "b"]
    assert list(res.ties) == []
    if method != "glad":
        assert any("plain vote shares used there" in n for n in res.notes)


@pytest.mark.parametrize("aggregate, method", [('method = "glad"\nmax_iter = 50', "glad"),
                                               ('method = "ordinal_median"', "ordinal_median")])
def test_campaign_aggregates_with_a_new_method(tmp_path, home, aggregate, method):
    from helpers import write_spec

    spec = str(write_spec(tmp_path, name="m1", extra=f"[aggregate]\n{aggregate}\n"))
    result = CliRunner().invoke(cli(), ["--home", str(home), "run", spec, "--until", "aggregate"])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(cli(), ["--home", str(home), "aggregate", "m1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["method"] == method


def test_campaign_file_with_a_bad_option_is_refused_before_any_step(tmp_path, home):
    from helpers import write_spec

    spec = str(write_spec(tmp_path, name="m2", extra='[aggregate]\nmethod = "mmsr"\nrounds = 5\n'))
    result = CliRunner().invoke(cli(), ["--home", str(home), "run", spec])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "aggregate.rounds" in result.output and "unknown option for mmsr (known: max_iter, tol, seed)" in result.output
