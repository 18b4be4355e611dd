"""Review rounds on the local backend (issue 12): which units go to review, verdicts that override the
consensus, where each exported label came from, the card's and the report's counts, idempotence, and
one clear line for a bad ``[review]`` table."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from workbench.aggregate.choose import gold_accuracy
from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.registry import get_registry
from workbench.review import Review, decide, read, reviewer_agreement, select
from workbench.simulate import SimulatedAnnotator
from workbench.spec import ReviewSpec, load_spec
from workbench.store import Store

from helpers import ROOT, dump_store, pool, write_spec

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def gold_table(folder) -> str:
    """The sample's hand-written sentiment gold, for the two articles the test campaigns use."""
    rows = [x for x in (ROOT / "tasks" / "gold" / "sentiment.jsonl").read_text("utf-8").splitlines()
            if x.strip() and json.loads(x)["document"].startswith(("000_", "001_"))]
    path = folder / "gold.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return f'[gold]\nfile = "{path}"\nrate = 0.15\n'
REVIEW = '[review]\nreviewers = [{id = "rita", persona = "expert"}]\nmin_agreement = 0.5\n'


def run_cli(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def campaign(tmp_path, home, review=REVIEW, name="c1"):
    spec = write_spec(tmp_path, name=name, pool=CROWD, overlap=3, gold=gold_table(tmp_path), extra=review)
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    return c


def expected_reasons(c, rs: ReviewSpec) -> dict[str, list[str]]:
    """The selection rules written out again, straight from the stored consensus rows."""
    honeypots = {u.id: u.gold_label for u in c.units() if u.is_gold}
    out = {}
    for row in c.state.aggregates:
        why = []
        if rs.ties and row["tie"]:
            why.append("tie")
        if rs.min_confidence is not None and row["confidence"] < rs.min_confidence:
            why.append("low_confidence")
        if rs.gold_mismatch and row["unit_id"] in honeypots and honeypots[row["unit_id"]] != row["label"]:
            why.append("gold_mismatch")
        if rs.min_agreement is not None and row["agreement"] is not None and row["agreement"] < rs.min_agreement:
            why.append("low_agreement")
        if why:
            out[row["unit_id"]] = why
    return out


def test_selection_follows_the_thresholds(tmp_path, home):
    c = campaign(tmp_path, home)
    state = c.state
    for rs in (ReviewSpec(min_agreement=0.5), ReviewSpec(min_agreement=None, min_confidence=0.9),
               ReviewSpec(min_agreement=None, ties=False, gold_mismatch=True),
               ReviewSpec(min_agreement=0.3, min_confidence=0.7, ties=False, gold_mismatch=False)):
        picked = select(state, rs, set())
        assert picked == expected_reasons(c, rs)
    # the default rule picks something here, and not everything
    picked = select(state, ReviewSpec(min_agreement=0.5), set())
    assert 0 < len(picked) < len(state.aggregates)
    # held-out gold is never a reason: it measures the effect of review
    held = state.held_out_gold
    assert held
    assert not any("gold_mismatch" in why for u, why in picked.items() if u in held)
    mismatched = [u for u, lab in held.items() if state.consensus.get(u) != lab]
    only_gold = select(state, ReviewSpec(min_agreement=None, ties=False), set())
    assert not set(mismatched) & set(only_gold)
    assert all(state.units_by_id[u].is_gold for u in only_gold)
    # the most disputed first, and at most max_units
    capped = select(state, ReviewSpec(min_agreement=0.5, max_units=5), set())
    agreement = {r["unit_id"]: r["agreement"] for r in state.aggregates}
    assert len(capped) == 5
    assert max(agreement[u] for u in capped) <= min(agreement[u] for u in picked if u not in capped)
    # an excluded annotator's units
    sam = {a.unit_id for a in c.annotations() if a.annotator_id == "sam"}
    by_sam = select(state, ReviewSpec(min_agreement=None, ties=False, gold_mismatch=False), {"sam"})
    assert set(by_sam) == sam and all(why == ["excluded_annotator"] for why in by_sam.values())


def test_a_review_round_overrides_the_consensus(tmp_path, home):
    c = campaign(tmp_path, home)
    quality_before = c.quality()
    consensus = c.consensus()
    wanted = select(c.state, c.spec.review, set())
    summary = c.review()
    assert summary["sent_now"] == summary["sent"] == summary["reviewed"] == len(wanted)
    assert summary["pending"] == 0 and summary["round"] == 1
    reviews = read(c.store, c.name, c.task_type.schema)
    assert {r.unit_id for r in reviews} == set(wanted)
    assert {r.reviewer for r in reviews} == {"rita"}
    assert all(list(r.reasons) == wanted[r.unit_id] for r in reviews)
    # the simulated reviewer is the documented persona, answering around the simulation's reference
    rita = SimulatedAnnotator("rita", get_registry().get("annotators", "expert"))
    prelabels = c.prelabels()
    for r in reviews:
        unit = c.state.units_by_id[r.unit_id]
        ref = unit.gold_label if unit.gold_label is not None else prelabels[unit.id].label
        assert r.label == rita.label(unit, ref, c.task_type.schema, c.spec.seed)[0]
        assert r.consensus == consensus[r.unit_id]
        assert r.overturned == (r.label != consensus[r.unit_id])
    overturned = sum(r.overturned for r in reviews)
    assert summary["overturned"] == overturned > 0
    # reviewers are not annotators: the labels, agreement and quality tables are as they were
    assert c.quality() == quality_before
    assert "rita" not in {a.annotator_id for a in c.annotations()}
    # every record says where its label came from
    records = {r["unit_id"]: r for r in c.records()}
    verdict = {r.unit_id: r.label for r in reviews}
    for u, rec in records.items():
        if u in verdict:
            assert rec["label_source"] == "review" and rec["review"] is False
            assert rec["label"] == verdict[u]
            assert len(rec["reviewed_by"]) == 1 and rec["reviewed_by"][0].startswith("rev-")
            assert "rita" not in json.dumps(rec)
        elif rec["is_gold"]:  # a honeypot nobody reviewed: its hand-written gold label
            assert rec["label_source"] == "gold" and rec["reviewed_by"] == []
            assert rec["label"] == c.state.units_by_id[u].gold_label
        else:
            assert rec["label_source"] == "consensus" and rec["reviewed_by"] == []
            assert rec["label"] == consensus[u]
    # a honeypot the consensus got wrong and the reviewer judged: the verdict stands, not the gold
    judged = [u for u in verdict if records[u]["is_gold"]]
    assert judged and all(records[u]["label_source"] == "review" for u in judged)
    # held-out gold before and after, recomputed here
    held = c.state.held_out_gold
    final = {**consensus, **verdict}
    assert summary["held_out_before"] == gold_accuracy(consensus, held, False)
    assert summary["held_out_after"] == gold_accuracy(final, held, False)
    # the export, its card and the annotators' overturned counts
    out = c.export(formats=("jsonl", "csv"), out_dir=str(tmp_path / "out"))
    lines = [json.loads(x) for x in (tmp_path / "out" / "c1.jsonl").read_text("utf-8").splitlines()]
    honeypots = sum(1 for x in lines if x["is_gold"] and x["unit_id"] not in verdict)
    assert Counter(x["label_source"] for x in lines) == {"review": len(wanted), "gold": honeypots,
                                                          "consensus": len(lines) - len(wanted) - honeypots}
    header = (tmp_path / "out" / "c1.csv").read_text("utf-8").splitlines()[0].split(",")
    assert "label_source" in header and "reviewed_by" in header
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert "## Review" in card
    assert f"{len(wanted)} units went to review in 1 round" in card
    assert f"overturned the consensus on {overturned}." in card
    assert "overturned by review" in card
    assert (f"(`label_source`): `consensus` {len(lines) - len(wanted) - honeypots}, `gold` {honeypots}, "
            f"`review` {len(wanted)}.") in card
    assert out["records"] == len(lines)
    per = Counter()
    for a in c.annotations():
        if a.unit_id in verdict and a.status.value == "ok":
            per[(a.annotator_id, "reviewed")] += 1
            per[(a.annotator_id, "overturned")] += a.label != verdict[a.unit_id]
    shown = run_cli(home, "annotators", "show", "c1", "--json")
    assert shown.exit_code == 0, shown.output
    rows = {r["annotator"]: r for r in json.loads(shown.output)}
    for aid in ("ana", "ben", "dev", "sam"):
        assert rows[aid]["overturned_by_review"] == {"reviewed": per[(aid, "reviewed")],
                                                     "overturned": per[(aid, "overturned")]}
    # the spammer is overturned far more often than the expert
    share = {a: per[(a, "overturned")] / per[(a, "reviewed")] for a in ("ana", "sam")}
    assert share["sam"] > share["ana"]
    report = c.report(out=tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text("utf-8")
    assert report["path"] and 'id="review"' in html and "How often the review overturned each annotator" in html


def test_review_again_changes_nothing(tmp_path, home):
    c = campaign(tmp_path, home)
    c.review()
    before = [t for t in dump_store(home) if t[0] in ("reviews", "backend_state", "annotations", "aggregates")]
    again = c.review()
    assert again["sent_now"] == 0 and again["verdicts_made"] == 0 and again["new_verdicts"] == 0
    assert [t for t in dump_store(home) if t[0] in ("reviews", "backend_state", "annotations", "aggregates")] == before
    pulled = c.review(pull_only=True)
    assert pulled["sent_now"] == 0 and pulled["reviewed"] == again["reviewed"]
    # a run afterwards brings verdicts back before exporting, and keeps them
    results = c.run()
    assert results["review"]["reviewed"] == again["reviewed"]
    assert sum(r["label_source"] == "review" for r in c.records()) == again["reviewed"]


def test_a_stricter_rule_later_sends_only_the_new_units(tmp_path, home):
    c = campaign(tmp_path, home, review='[review]\nreviewers = [{id = "rita", persona = "expert"}]\n'
                                        "min_agreement = false\nmin_confidence = 0.6\n")
    first = c.review()
    assert 0 < first["sent"]
    spec = write_spec(tmp_path, pool=CROWD, overlap=3, gold=gold_table(tmp_path), extra=REVIEW)
    c2 = Campaign(load_spec(spec), Store(home))
    second = c2.review()
    wanted = select(c2.state, c2.spec.review, set())
    assert second["round"] == 2
    assert second["sent"] == len(set(wanted) | {r.unit_id for r in read(c2.store, "c1", c2.task_type.schema)
                                                if r.round == 1})
    assert second["sent_now"] == second["sent"] - first["sent"]
    rounds = Counter(r.round for r in read(c2.store, "c1", c2.task_type.schema))
    assert rounds == {1: first["sent"], 2: second["sent_now"]}
    assert any("review" in x for x in c2.state.versions[-1]["changes"])


def test_two_reviewers_measure_their_agreement(tmp_path, home):
    c = campaign(tmp_path, home, review='[review]\nreviewers = [{id = "rita", persona = "expert"}, '
                                        '{id = "hal", persona = "hasty"}]\nper_unit = 2\n')
    s = c.review()
    reviews = read(c.store, c.name, c.task_type.schema)
    assert Counter(r.unit_id for r in reviews) == {u: 2 for u in {r.unit_id for r in reviews}}
    by_unit, first = {}, {}
    for r in sorted(reviews, key=lambda r: (r.answered_at, r.reviewer)):
        by_unit.setdefault(r.unit_id, []).append(r.label)
        first.setdefault(r.unit_id, r.label)
    same = sum(a == b for a, b in by_unit.values())
    assert s["reviewer_agreement"] == {"units": len(by_unit), "pairs": len(by_unit), "agreement": same / len(by_unit)}
    assert 0 < same < len(by_unit)  # an expert and a hasty reviewer do not always agree
    # two verdicts that differ: the one equal to the consensus stands (else the earlier)
    final = decide(reviews)
    for u, (a, b) in by_unit.items():
        consensus = next(r.consensus for r in reviews if r.unit_id == u)
        if a != b:
            assert final[u][0] == (consensus if consensus in (a, b) else first[u])
        assert final[u][1] == ["hal", "rita"]
    card_facts = c.export(out_dir=str(tmp_path / "o"), formats=("jsonl",))
    assert card_facts["records"]
    assert "Reviewer agreement: on" in (tmp_path / "o" / "README.md").read_text("utf-8")


def test_decide_and_reviewer_agreement_rules():
    def rv(unit, who, label, consensus="a", at="t1"):
        return Review(unit, who, 1, ("tie",), consensus, "t0", None, label, label != consensus, at)

    reviews = [rv("u1", "r1", "b", at="t2"), rv("u1", "r2", "b", at="t1"), rv("u1", "r3", "a", at="t3"),
               rv("u2", "r1", "c", at="t2"), rv("u2", "r2", "a", at="t3"),  # a tie: the consensus stands
               rv("u3", "r1", "c", at="t2"), rv("u3", "r2", "b", at="t1"),  # a tie without it: the earlier
               rv("u4", "r1", None)]  # not answered
    assert decide(reviews) == {"u1": ("b", ["r1", "r2", "r3"]), "u2": ("a", ["r1", "r2"]),
                               "u3": ("b", ["r1", "r2"])}
    assert reviewer_agreement(reviews) == {"units": 3, "pairs": 5, "agreement": 1 / 5}


@pytest.mark.parametrize("table, field, what", [
    ('reviewers = [{id = "rita", persona = "expert"}]\nmin_agreement = 2', "review.min_agreement",
     "expected a number in [0, 1]"),
    ('reviewers = [{id = "rita", persona = "expert"}]\nmin_confidence = true', "review.min_confidence",
     "expected a number in [0, 1]"),
    ('reviewers = [{id = "rita", persona = "expert"}]\nper_unit = 2', "review.per_unit", "expected 1 to 1"),
    ('reviewers = [{id = "rita", persona = "expert"}]\nreviewer = "x"', "review.reviewer", "unknown field"),
    ('reviewers = [{id = "rita", persona = "wizard"}]', "review.reviewers[0].persona", "wizard"),
    ('reviewers = [{id = "ana", persona = "expert"}]', "review.reviewers", "is also an annotator"),
    ('reviewers = [{id = "rita"}]', "review.reviewers[0]", "expected either persona"),
    ("reviewers = []", "review.reviewers", "expected at least one reviewer"),
    ('reviewers = [{id = "rita", persona = "expert"}]\nties = "yes"', "review.ties", "expected bool"),
    ('reviewers = [{id = "rita", persona = "expert"}]\nmax_units = 0', "review.max_units", "expected at least 1"),
])
def test_bad_review_tables_give_one_line(tmp_path, home, table, field, what):
    spec = write_spec(tmp_path, pool=CROWD, overlap=3, gold=gold_table(tmp_path), extra="[review]\n" + table + "\n")
    result = run_cli(home, "review", str(spec))
    assert result.exit_code != 0
    out = result.output.strip()
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    assert f"{spec}: {field}:" in out and what in out, out


def test_review_without_a_review_table(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD, overlap=3, gold=gold_table(tmp_path))
    Campaign(load_spec(spec), Store(home)).run()
    result = run_cli(home, "review", str(spec))
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1
    assert "has no [review] table" in result.output
    with pytest.raises(WorkbenchError, match="run `agreement` before `review`|run `aggregate`|run `pull`"):
        fresh = write_spec(tmp_path / "b", name="c2", pool=CROWD, overlap=3, gold=gold_table(tmp_path), extra=REVIEW)
        c = Campaign(load_spec(fresh), Store(home))
        c.plan()
        c.review()


def test_review_from_the_command_line(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD, overlap=3, gold=gold_table(tmp_path), extra=REVIEW)
    assert run_cli(home, "run", str(spec)).exit_code == 0
    result = run_cli(home, "review", "c1")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("review: round 1;") and "overturned" in line and "held-out gold accuracy" in line
    again = run_cli(home, "review", "c1", "--pull", "--json")
    assert again.exit_code == 0 and json.loads(again.output)["sent_now"] == 0


def test_what_a_reviewer_reads():
    from workbench.models import Span, Unit
    from workbench.review import ReviewTask

    unit = Unit(id="u", task_type="text", document_id="d", start=0, end=20, text="Meta bought Scale AI")
    spans = ReviewTask(unit=unit, reviewer="r", round=1, consensus=(Span(0, 4, "ORG"),), confidence=0.5,
                       votes=(("annotator A", (Span(0, 4, "ORG"),)), ("annotator B", ()),
                              ("annotator C", (Span(0, 4, "ORG"), Span(12, 20, "ORG")))),
                       reasons=("low_agreement", "tie"))
    assert spans.votes_text().splitlines() == [
        "(none): 1 of 3 (annotator B)", 'ORG "Meta" [0:4]; ORG "Scale AI" [12:20]: 1 of 3 (annotator C)',
        'ORG "Meta" [0:4]: 1 of 3 (annotator A)',
        'consensus (pre-selected): ORG "Meta" [0:4]', "sent to review: low agreement, tie"]
    choice = ReviewTask(unit=unit, reviewer="r", round=1, consensus="positive", confidence=0.6,
                        votes=(("annotator A", "negative"), ("annotator B", "positive"), ("annotator C", "positive")))
    assert choice.votes_text().splitlines() == ["positive: 2 of 3 (annotator B, annotator C)",
                                                "negative: 1 of 3 (annotator A)", "consensus (pre-selected): positive"]
