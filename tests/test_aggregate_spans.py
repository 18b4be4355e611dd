"""Span aggregation (exact-span majority, token-level vote) and span agreement, on hand-made cases."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from workbench.aggregate.majority import majority_vote
from workbench.aggregate.tokenvote import span_vote
from workbench.agreement.spans import span_f1_exact, span_f1_overlap, token_alpha
from workbench.agreement.units import unit_agreement
from workbench.models import LabelKind, LabelSchema, Span, Unit
from workbench.table.score import score as _score

SCHEMA = LabelSchema(LabelKind.SPANS, ("ORG", "PERSON"))
TEXT = "Acme Corp hired Jane Doe and Bob Roe today."
#       0    5    10   15   20   25   30   35   40
ACME, JANE, BOB = Span(0, 9, "ORG"), Span(16, 24, "PERSON"), Span(29, 36, "PERSON")
UNITS = {"u1": Unit("u1", "text", "d", 0, len(TEXT), TEXT)}


def table(*labels, unit="u1") -> pd.DataFrame:
    return pd.DataFrame({"unit": [unit] * len(labels), "annotator": [f"a{i}" for i in range(len(labels))],
                         "label": [tuple(sorted(x)) for x in labels]})


def consensus(res, unit="u1"):
    return res.labels.set_index("unit").loc[unit, "label"]


def test_token_vote_fixes_boundary_disagreements_that_exact_vote_drops():
    # three annotators, three different boundaries for the same organisation
    t = table([Span(0, 9, "ORG")], [Span(0, 4, "ORG")], [Span(0, 9, "ORG"), JANE])
    assert consensus(majority_vote(t, SCHEMA)) == (ACME,)  # exact: 2 of 3 marked 0..9
    t = table([Span(0, 9, "ORG")], [Span(0, 4, "ORG")], [Span(0, 15, "ORG"), JANE])
    assert consensus(majority_vote(t, SCHEMA)) == ()  # no exact span has a majority
    res = span_vote(t, SCHEMA, units=UNITS)
    assert consensus(res) == (ACME,)  # tokens "Acme" (3 votes) and "Corp" (2 of 3) win; "hired" 1 of 3 loses


def test_token_vote_keeps_adjacent_entities_apart_when_most_annotators_split_them():
    two = [Span(16, 24, "PERSON"), Span(29, 36, "PERSON")]
    glued = [Span(16, 36, "PERSON")]  # "Jane Doe and Bob Roe" as one name
    res = span_vote(table(two, two, glued), SCHEMA, units=UNITS)
    assert consensus(res) == (JANE, BOB)  # "and" is O for 2 of 3
    # touching spans: most annotators start a new span at "Doe", so it stays two spans
    split = [Span(16, 20, "PERSON"), Span(21, 24, "PERSON")]
    res = span_vote(table(split, split, [JANE]), SCHEMA, units=UNITS)
    assert consensus(res) == tuple(split)
    res = span_vote(table(split, [JANE], [JANE]), SCHEMA, units=UNITS)
    assert consensus(res) == (JANE,)


def test_token_vote_ties_go_to_no_span_or_to_a_draw_by_unit():
    res = span_vote(table([ACME], []), SCHEMA, units=UNITS)  # 1 ORG vs 1 O on every token
    assert consensus(res) == () and res.ties == ["u1"]
    # ORG and PERSON tie at 2 on both tokens of "Acme Corp", O has 0: one span, its label drawn by the
    # unit's id (the same on every token), about half of the units each way (it was always ORG)
    units = {f"u{i}": Unit(f"u{i}", "text", "d", 0, len(TEXT), TEXT) for i in range(400)}
    rows = pd.concat([table([Span(0, 9, "PERSON")], [ACME], [ACME], [Span(0, 9, "PERSON")], unit=u) for u in units])
    res = span_vote(rows, SCHEMA, units=units)
    spans = res.labels.set_index("unit")["label"]
    assert {len(s) for s in spans} == {1} and {(s[0].start, s[0].end) for s in spans} == {(0, 9)}
    orgs = sum(s[0].label == "ORG" for s in spans) / len(spans)
    assert 0.4 < orgs < 0.6, orgs
    assert sorted(res.ties) == sorted(units) and "drawn by the unit's id" in res.notes[-1]
    again = span_vote(rows.iloc[::-1], SCHEMA, units=units).labels.set_index("unit")["label"]
    assert (again[spans.index] == spans).all()


def test_token_vote_without_text_uses_span_boundaries():
    t = table([Span(0, 9, "ORG")], [Span(0, 4, "ORG")], [Span(0, 15, "ORG")])
    res = span_vote(t, SCHEMA)  # no units: pieces 0..4 (3 votes), 4..9 (2), 9..15 (1)
    assert consensus(res) == (ACME,)


def test_empty_span_sets_and_confidence():
    res = span_vote(table([], [], []), SCHEMA, units=UNITS)
    row = res.labels.iloc[0]
    assert row["label"] == () and row["confidence"] == 1.0 and row["n_annotations"] == 3
    res = span_vote(table([ACME], [ACME], []), SCHEMA, units=UNITS)
    # tokens: Acme, Corp (2/3 ORG), hired..today. (7 tokens, 3/3 O) -> (2 * 2/3 + 7) / 9
    assert consensus(res) == (ACME,)
    assert res.labels.iloc[0]["confidence"] == pytest.approx((2 * 2 / 3 + 7) / 9)


def random_spans(rng: random.Random) -> tuple[Span, ...]:
    spans = set()
    for _ in range(rng.randint(0, 3)):
        s = rng.randint(0, 30)
        spans.add(Span(s, s + rng.randint(1, 8), rng.choice(SCHEMA.labels)))
    return tuple(sorted(spans))


def reference_pair_f1(a: list, b: list, overlap: bool) -> float:
    """Pooled F1 of two annotators' span sets over their shared units, with sets and loops."""
    matched_a = matched_b = n_a = n_b = 0
    for x, y in zip(a, b):
        n_a, n_b = n_a + len(x), n_b + len(y)
        if overlap:
            matched_a += sum(any(s.label == t.label and s.start < t.end and t.start < s.end for t in y) for s in x)
            matched_b += sum(any(s.label == t.label and s.start < t.end and t.start < s.end for t in x) for s in y)
        else:
            matched_a += len(set(x) & set(y))
            matched_b += len(set(x) & set(y))
    if n_a == n_b == 0:
        return 1.0
    p = matched_a / n_a if n_a else 0.0
    r = matched_b / n_b if n_b else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


@pytest.mark.parametrize("seed", range(4))
def test_pairwise_span_f1_matches_a_set_based_reference(seed):
    rng = random.Random(seed)
    rows = []
    for u in range(25):
        for a in range(4):
            if rng.random() < 0.75:
                rows.append((f"u{u}", f"a{a}", random_spans(rng)))
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    for fn, overlap in ((span_f1_exact, False), (span_f1_overlap, True)):
        res = fn(t, SCHEMA)
        values = []
        for a, b in itertools.combinations(sorted(t["annotator"].unique()), 2):
            both = t[t["annotator"] == a].merge(t[t["annotator"] == b], on="unit")
            if both.empty:
                continue
            expected = reference_pair_f1(list(both["label_x"]), list(both["label_y"]), overlap)
            assert res.detail.loc[a, b] == pytest.approx(expected, abs=1e-12), (a, b, overlap)
            values.append(expected)
        assert res.value == pytest.approx(sum(values) / len(values), abs=1e-12)


def test_unit_agreement_for_spans_is_pooled_pairwise_f1():
    t = table([ACME, JANE], [ACME], [JANE, BOB])
    per_unit = unit_agreement(t, SCHEMA)
    # pairs: (0,1) 2*1/(2+1); (0,2) 2*1/(2+2); (1,2) 0 -> pooled 2 * (1 + 1 + 0) / (2 * 5)
    assert per_unit.loc[0, "agreement"] == pytest.approx(0.4)
    assert bool(per_unit.loc[0, "disputed"])


def test_token_alpha_counts_o_tags():
    res = token_alpha(table([ACME], [ACME], [ACME]), SCHEMA, units=UNITS)
    assert res.value == pytest.approx(1.0)  # ORG on 2 tokens, O on 7: all three agree everywhere
    res = token_alpha(table([], [], []), SCHEMA, units=UNITS)
    assert res.value is None and "no variation" in res.note  # every token O for everyone
    res = token_alpha(table([ACME, JANE], [ACME], [JANE]), SCHEMA, units=UNITS)
    assert res.value is not None and "tokens cut from the unit text" in res.note
    res = token_alpha(table([], [], []), SCHEMA)
    assert res.value is None and "no tokens" in res.note


def test_consensus_span_score_matches_reference_loop():
    from workbench.agreement.quality import annotator_quality

    rng = random.Random(3)
    rows = [(f"u{u}", f"a{a}", random_spans(rng)) for u in range(30) for a in range(3)]
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    gold = {f"u{u}": random_spans(rng) for u in range(0, 30, 2)}
    q = annotator_quality(t, SCHEMA, gold=gold).set_index("annotator")
    for a, part in t.groupby("annotator"):
        on = part[part["unit"].isin(gold.keys())]
        assert q.loc[a, "gold_accuracy"] == pytest.approx(_score(on["label"], on["unit"].map(gold), True))
        assert q.loc[a, "gold_n"] == len(on)


def test_token_tags_match_a_brute_force_reading():
    from workbench.table.spans import explode_spans, token_votes

    rng = random.Random(5)
    text = "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta"
    units = {f"u{u}": Unit(f"u{u}", "text", "d", 0, len(text), text) for u in range(6)}
    rows = [(f"u{u}", f"a{a}", random_spans(rng)) for u in range(6) for a in range(3) if rng.random() < 0.8]
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    tv = token_votes(explode_spans(t, SCHEMA), 2, units)
    token, annotator, tag = tv.tags()
    names = list(tv.spans.annotator_names)
    units_of = list(tv.spans.unit_names)
    seen = {}
    for tok, ann, tg in zip(token, annotator, tag):
        unit, who = units_of[tv.unit[tok]], names[ann]
        spans = t[(t["unit"] == unit) & (t["annotator"] == who)]["label"].iloc[0]
        covering = sorted(SCHEMA.labels.index(s.label) for s in spans
                          if s.start <= tv.start[tok] and tv.end[tok] <= s.end)
        assert tg == (covering[0] + 1 if covering else 0)
        seen[(tok, who)] = True
    per_unit = t.groupby("unit").size()
    assert len(seen) == sum(per_unit[units_of[u]] for u in tv.unit)  # every annotator of the unit, once


def test_span_quality_scores_a_random_marker_as_a_spammer():
    from workbench.agreement.quality import annotator_quality

    rng = random.Random(1)
    truth = {f"u{u}": random_spans(rng) for u in range(60)}
    text = "x" * 40
    units = {u: Unit(u, "text", "d", 0, len(text), text) for u in truth}
    rows = []
    for u, spans in truth.items():
        for a in ("a0", "a1", "a2"):
            rows.append((u, a, spans))
        rows.append((u, "spam", random_spans(rng)))
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    q = annotator_quality(t, SCHEMA, units=units).set_index("annotator")
    assert q.loc["spam", "spammer_score"] < 0.2 < q.loc["a0", "spammer_score"]
    assert any("spammer score" in f for f in q.loc["spam", "flags"])


@pytest.mark.parametrize("seed", range(3))
def test_exact_span_majority_matches_a_loop_reference(seed):
    rng = random.Random(seed)
    pool = [Span(s, s + 4, lab) for s in (0, 5, 10) for lab in SCHEMA.labels]
    rows = [(f"u{u}", f"a{a}", tuple(sorted(rng.sample(pool, rng.randint(0, 3)))))
            for u in range(40) for a in range(rng.randint(1, 4))]
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    got = majority_vote(t, SCHEMA).labels.set_index("unit")
    for unit, part in t.groupby("unit"):
        n = len(part)
        votes = {}
        for spans in part["label"]:
            for s in spans:
                votes[s] = votes.get(s, 0) + 1
        kept = sorted(s for s, v in votes.items() if v / n > 0.5)
        share = [votes[s] / n for s in kept]
        conf = sum(share) / len(share) if share else sum(len(x) == 0 for x in part["label"]) / n
        assert got.loc[unit, "label"] == tuple(kept)
        assert got.loc[unit, "confidence"] == pytest.approx(conf)
        assert got.loc[unit, "n_annotations"] == n


@pytest.mark.parametrize("seed", range(3))
def test_token_alpha_matches_krippendorff_on_the_token_tags(seed):
    import krippendorff
    import numpy as np

    from workbench.table.spans import explode_spans, token_votes

    rng = random.Random(seed)
    text = "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa"
    units = {f"u{u}": Unit(f"u{u}", "text", "d", 0, len(text), text) for u in range(15)}
    rows = [(f"u{u}", f"a{a}", random_spans(rng)) for u in range(15) for a in range(4) if rng.random() < 0.8]
    t = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    tv = token_votes(explode_spans(t, SCHEMA), 2, units)
    token, annotator, tag = tv.tags()
    data = np.full((tv.spans.n_annotators, len(tv.unit)), np.nan)
    data[annotator, token] = tag
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1, 2])
    assert token_alpha(t, SCHEMA, units=units).value == pytest.approx(expected, abs=1e-12)
