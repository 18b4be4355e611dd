"""Span Dawid-Skene (``span_dawid_skene``) on simulated span crowds with known truth: better than the
token vote on biased crowds, valid spans, gold clamping, the tie rule, per-span scores."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from workbench.aggregate import break_ties
from workbench.aggregate.choose import aggregate_table
from workbench.aggregate.spands import span_dawid_skene, tag_names
from workbench.aggregate.tokenvote import span_vote
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema, Span
from workbench.registry import get_registry

from benchmarks.span_crowd import TYPES, make_span_crowd, span_f1

BIASED = {"short": 0.2, "long": 0.15, "confuser": 0.15, "misser": 0.1, "spammer": 0.1}


def labels_of(result) -> dict:
    return dict(zip(result.labels["unit"], result.labels["label"]))


@pytest.mark.parametrize("seed", [1, 2])
def test_beats_the_token_vote_on_a_biased_span_crowd(seed):
    crowd = make_span_crowd(800, n_annotators=12, overlap=3, roles=BIASED, seed=seed)
    vote = span_f1(labels_of(span_vote(crowd.table, crowd.schema, units=crowd.units)), crowd.truth)
    ds = span_f1(labels_of(span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)), crowd.truth)
    assert ds > vote + 0.08, (vote, ds)


def test_no_worse_than_the_token_vote_on_a_clean_crowd():
    crowd = make_span_crowd(600, n_annotators=10, overlap=3, seed=5)
    vote = span_f1(labels_of(span_vote(crowd.table, crowd.schema, units=crowd.units)), crowd.truth)
    ds = span_f1(labels_of(span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)), crowd.truth)
    assert vote > 0.9 and ds > vote - 0.01, (vote, ds)


def test_few_sentences_per_annotator_still_no_worse_than_the_vote():
    """Five to ten sentences per annotator cannot fill a 13 x 13 confusion matrix: a prior of a few
    right tags per row (``right_prior``) keeps EM from overfitting; without it, it loses to the vote."""
    vote, ds, plain = [], [], []
    for seed in range(4):
        crowd = make_span_crowd(20, n_annotators=6, overlap=3, roles=BIASED, seed=seed)
        vote.append(span_f1(labels_of(span_vote(crowd.table, crowd.schema, units=crowd.units)), crowd.truth))
        ds.append(span_f1(labels_of(span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)), crowd.truth))
        plain.append(span_f1(labels_of(span_dawid_skene(crowd.table, crowd.schema, units=crowd.units, right_prior=0)),
                             crowd.truth))
    assert np.mean(ds) > np.mean(vote) and np.mean(ds) > np.mean(plain), (vote, ds, plain)


def test_learns_each_annotators_errors():
    crowd = make_span_crowd(1500, n_annotators=10, overlap=3, roles={"misser": 0.2, "long": 0.2}, strength=0.8,
                            seed=3)
    res = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    ann = res.annotators.set_index("annotator")
    role = pd.Series(crowd.role)
    good = ann.loc[role[role == "good"].index]
    assert ann.loc[role[role == "misser"].index, "missed"].min() > good["missed"].max()
    assert ann.loc[role[role == "long"].index, "spurious"].min() > good["spurious"].max()
    tags = tag_names(crowd.schema.labels)
    assert tags[:3] == ["O", f"B-{TYPES[0]}", f"I-{TYPES[0]}"]
    for conf in ann["confusion"]:
        assert conf.shape == (len(tags), len(tags)) and np.allclose(conf.sum(axis=1), 1.0)


def _token_bounds(text: str) -> tuple[set, set]:
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    return {s for s, _ in words}, {e for _, e in words}


def _check_valid(result, table, units, schema):
    """Sorted, non-overlapping, in-bounds spans of schema labels, on token boundaries, a score each."""
    marked: dict = {}
    for u, lab in zip(table["unit"], table["label"]):
        starts, ends = marked.setdefault(u, (set(), set()))
        starts.update(s.start for s in lab)
        ends.update(s.end for s in lab)
    for u, spans, scores, conf in result.labels[["unit", "label", "span_scores", "confidence"]].itertuples(
            index=False):
        assert isinstance(spans, tuple) and all(isinstance(s, Span) for s in spans)
        assert list(spans) == sorted(spans)
        assert len(scores) == len(spans) and all(0.0 <= x <= 1.0 for x in scores)
        assert 0.0 <= conf <= 1.0
        for a, b in zip(spans, spans[1:]):
            assert a.end <= b.start, (u, spans)
        text = units[u].text if units else None
        cuts = marked[u][0] | marked[u][1]
        for s in spans:
            assert s.label in schema.labels and 0 <= s.start < s.end
            if text is not None:
                word_starts, word_ends = _token_bounds(text)
                assert s.end <= len(text) and not text[s.start].isspace() and not text[s.end - 1].isspace()
                assert s.start in word_starts | cuts and s.end in word_ends | cuts
            else:  # tokens are the pieces between boundaries someone used
                assert s.start in cuts and s.end in cuts


def test_spans_are_valid_with_and_without_text():
    crowd = make_span_crowd(400, n_annotators=8, overlap=4, roles=BIASED, seed=7)
    res = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    _check_valid(res, crowd.table, crowd.units, crowd.schema)
    assert sum(len(x) for x in res.labels["label"]) > 300
    bare = span_dawid_skene(crowd.table, crowd.schema)  # no unit text: tokens from the span boundaries
    _check_valid(bare, crowd.table, None, crowd.schema)
    assert span_f1(labels_of(bare), crowd.truth) > 0.8


def test_a_gap_between_marked_pieces_ends_a_span_without_text():
    schema = LabelSchema(LabelKind.SPANS, ("ORG",))
    table = pd.DataFrame({"unit": ["u"] * 3, "annotator": ["a", "b", "c"],
                          "label": [(Span(0, 4, "ORG"), Span(6, 9, "ORG"))] * 2 + [(Span(0, 4, "ORG"),)]})
    res = span_dawid_skene(table, schema)
    assert res.labels["label"][0] == (Span(0, 4, "ORG"), Span(6, 9, "ORG"))
    # with the text, tokens 0-4 and 5-9 are neighbours: one annotator's span over both stays one span
    units = {"u": SimpleNamespace(text="Acme Corp hired")}
    one = pd.DataFrame({"unit": ["u"] * 3, "annotator": ["a", "b", "c"], "label": [(Span(0, 9, "ORG"),)] * 3})
    assert span_dawid_skene(one, schema, units=units).labels["label"][0] == (Span(0, 9, "ORG"),)


def test_adjacent_entities_stay_two():
    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))
    units = {"u": SimpleNamespace(text="Acme Meta hired")}
    both = (Span(0, 4, "ORG"), Span(5, 9, "ORG"))
    table = pd.DataFrame({"unit": ["u"] * 3, "annotator": ["a", "b", "c"], "label": [both, both, (Span(0, 9, "ORG"),)]})
    assert span_dawid_skene(table, schema, units=units).labels["label"][0] == both


def test_gold_units_are_clamped_and_anchor_the_fit():
    crowd = make_span_crowd(600, n_annotators=9, overlap=3, roles={"confuser": 0.45, "spammer": 0.1}, strength=0.9,
                            seed=11)
    gold_units = list(crowd.truth)[:120]
    gold = {u: crowd.truth[u] for u in gold_units}
    # a gold span no annotator marked exactly still comes out as the gold says
    gold[gold_units[0]] = (Span(0, 9, "DATE"),)
    res = span_dawid_skene(crowd.table, crowd.schema, gold=gold, units=crowd.units)
    out = labels_of(res)
    scores = dict(zip(res.labels["unit"], res.labels["span_scores"]))
    for u in gold_units:
        assert out[u] == gold[u]
        assert all(x == 1.0 for x in scores[u])
    assert any("120 gold unit(s) clamped" in n for n in res.notes)
    rest = {u: crowd.truth[u] for u in crowd.truth if u not in gold}
    free = span_f1(labels_of(span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)), rest)
    assert span_f1(out, rest) > free - 0.01
    # two annotators give ORG for every PERSON; gold on a few PERSON units shows it, and the third
    # annotator, right alone, wins the other units (the vote, and DS without gold, cannot know)
    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))
    truth = {f"u{i}": (Span(0, 4, "ORG" if i % 2 else "PERSON"),) for i in range(100)}
    rows = [(u, a, (Span(0, 4, "ORG"),) if a != "c" else t) for u, t in truth.items() for a in "abc"]
    table = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    units = {u: SimpleNamespace(text="Acme hired") for u in truth}
    gold = {f"u{i}": truth[f"u{i}"] for i in range(0, 20, 2)}
    assert span_f1(labels_of(span_dawid_skene(table, schema, units=units)), truth) < 0.8
    res = span_dawid_skene(table, schema, gold=gold, units=units)
    assert labels_of(res) == truth
    acc = res.annotators.set_index("annotator")["accuracy"]
    assert acc["c"] > max(acc["a"], acc["b"])
    # gold of units not in the table is ignored, not an error
    span_dawid_skene(crowd.table, crowd.schema, gold={"elsewhere": (Span(0, 1, "ORG"),)}, units=crowd.units)


def _tied_table(n: int) -> tuple[pd.DataFrame, LabelSchema, dict]:
    """Two annotators who always disagree on the type of the one span: every unit a perfect tie."""
    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))
    names = [f"unit-{i}" for i in range(n)]
    table = pd.DataFrame({"unit": np.repeat(names, 2), "annotator": ["a", "b"] * n,
                          "label": [(Span(0, 4, "ORG"),), (Span(0, 4, "PERSON"),)] * n})
    return table, schema, {u: SimpleNamespace(text="Acme hired") for u in names}


def test_ties_are_drawn_by_the_unit_id_not_schema_order():
    table, schema, units = _tied_table(200)
    res = span_dawid_skene(table, schema, units=units)
    got = [lab[0].label for lab in res.labels["label"]]
    assert all(len(lab) == 1 and lab[0].start == 0 and lab[0].end == 4 for lab in res.labels["label"])
    expected = break_ties(np.ones((200, 2), dtype=bool), res.labels["unit"].to_numpy(dtype=object))
    assert got == [schema.labels[i] for i in expected]
    assert 60 < got.count("ORG") < 140  # neither label wins every tie
    assert len(res.ties) == 200 and any("equally probable" in n for n in res.notes)
    # the same unit gets the same label whatever else is in the table and in whatever order
    part = span_dawid_skene(table.iloc[::-1].head(40), schema, units=units)
    assert labels_of(part) == {u: labels_of(res)[u] for u in part.labels["unit"]}


def test_reproducible_and_row_order_free():
    crowd = make_span_crowd(300, n_annotators=8, overlap=3, roles=BIASED, seed=13)
    a = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    b = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    shuffled = crowd.table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    c = span_dawid_skene(shuffled, crowd.schema, units=crowd.units)
    assert labels_of(c) == labels_of(a)
    conf_a = dict(zip(a.labels["unit"], a.labels["confidence"]))
    assert all(abs(conf_a[u] - x) < 1e-6 for u, x in zip(c.labels["unit"], c.labels["confidence"]))


def test_scores_rank_right_spans_above_wrong_ones():
    crowd = make_span_crowd(1000, n_annotators=10, overlap=3, roles=BIASED, seed=17)
    res = span_dawid_skene(crowd.table, crowd.schema, units=crowd.units)
    right, wrong = [], []
    for u, spans, scores in res.labels[["unit", "label", "span_scores"]].itertuples(index=False):
        for s, x in zip(spans, scores):
            (right if s in crowd.truth[u] else wrong).append(x)
    assert len(wrong) > 20 and np.mean(right) > np.mean(wrong) + 0.1


def test_units_with_nothing_marked_and_counts():
    schema = LabelSchema(LabelKind.SPANS, ("ORG",))
    table = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "annotator": ["a", "b", "a", "b"],
                          "label": [(), (), (Span(0, 4, "ORG"),), (Span(0, 4, "ORG"),)]})
    res = span_dawid_skene(table, schema)
    assert labels_of(res) == {"u1": (), "u2": (Span(0, 4, "ORG"),)}
    assert res.labels["confidence"][0] == 1.0 and res.labels["span_scores"][0] == ()
    assert list(res.labels["n_annotations"]) == [2, 2]
    crowdkit = table.rename(columns={"unit": "task", "annotator": "worker"})
    assert labels_of(span_dawid_skene(crowdkit, schema)) == labels_of(res)
    assert span_dawid_skene(table.iloc[:0], schema).labels.empty
    # an annotator who only ever marked nothing, on a unit with no tokens, is still listed; a
    # categorical unit column and gold on a unit give the same counts
    more = pd.concat([table, pd.DataFrame({"unit": ["u3"], "annotator": ["z"], "label": [()]})], ignore_index=True)
    more["unit"] = pd.Categorical(more["unit"], categories=["u3", "u2", "u1"])
    res = span_dawid_skene(more, schema, gold={"u1": ()})
    assert list(res.annotators["annotator"]) == ["a", "b", "z"]
    assert dict(zip(res.labels["unit"], res.labels["n_annotations"])) == {"u1": 2, "u2": 2, "u3": 1}
    assert labels_of(res) == {"u1": (), "u2": (Span(0, 4, "ORG"),), "u3": ()}


def test_options_and_bad_input():
    schema = LabelSchema(LabelKind.SPANS, ("ORG",))
    table = pd.DataFrame({"unit": ["u1"], "annotator": ["a"], "label": [(Span(0, 4, "ORG"),)]})
    with pytest.raises(WorkbenchError, match="'iterations' is not known to span_dawid_skene"):
        span_dawid_skene(table, schema, iterations=3)
    with pytest.raises(WorkbenchError, match="max_iter: expected a whole number >= 1"):
        span_dawid_skene(table, schema, max_iter=0)
    with pytest.raises(WorkbenchError, match="right_prior: expected a number >= 0, got -1"):
        span_dawid_skene(table, schema, right_prior=-1)
    with pytest.raises(WorkbenchError, match="span label 'PERSON' is not one of"):
        span_dawid_skene(table.assign(label=[(Span(0, 4, "PERSON"),)]), schema)
    res = span_dawid_skene(table, schema, max_iter=1)
    assert any("max_iter=1" in n for n in res.notes)


def test_registered_and_picked_by_auto_for_span_tasks():
    reg = get_registry()
    crowd = make_span_crowd(100, n_annotators=6, overlap=3, roles=BIASED, seed=2)
    res = aggregate_table(reg, crowd.schema, crowd.table, "auto", units=crowd.units)
    assert res.method == "span_dawid_skene" and res.notes[0] == "auto: picked span_dawid_skene (span task)"
    single = LabelSchema(LabelKind.SINGLE, ("a", "b"))
    table = pd.DataFrame({"unit": ["u"], "annotator": ["x"], "label": ["a"]})
    with pytest.raises(WorkbenchError, match="aggregator 'span_dawid_skene' works on spans labels, not single"):
        aggregate_table(reg, single, table, "span_dawid_skene")


def test_a_span_campaign_stores_each_spans_score(tmp_path):
    from export_fixtures import builtin_plugins, run_campaign, write_campaign

    with builtin_plugins():
        c = run_campaign(write_campaign(tmp_path, "spans", "text", documents="000_*.txt",
                                        extra='[aggregate]\nmethod = "auto"\n'), tmp_path / "home")
        try:
            rows = c.state.aggregates
            assert rows and {r["method"] for r in rows} == {"span_dawid_skene"}
            for r in rows:
                keys = [f"{s.start}:{s.end}:{s.label}" for s in r["label"]]
                assert list(r["posteriors"]) == keys and all(0.0 <= x <= 1.0 for x in r["posteriors"].values())
            assert any(r["label"] for r in rows)
        finally:
            c.store.close()


def test_span_benchmark_runs_on_a_tiny_crowd(tmp_path, capsys):
    from benchmarks import bench_spans

    out = tmp_path / "spans.json"
    assert bench_spans.main(["--sizes", "150", "--repeats", "1", "--min-time", "0", "--campaign-seeds", "",
                             "--small-seeds", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    import json

    rows = json.loads(out.read_text())["simulated"]
    assert [(r["crowd"], r["method"]) for r in rows] == [("biased", "spans"), ("biased", "span_dawid_skene"),
                                                       ("clean", "spans"), ("clean", "span_dawid_skene")]
    assert all(0.3 < r["f1"] <= 1.0 and r["seconds"] > 0 for r in rows)
    assert "| biased | 150 |" in printed
    results = json.loads(out.read_text())
    assert len(results["small"]) == 8 and "## Small crowds" in printed
    assert sum(r["spans"] for r in results["calibration"]) > 50
