"""Gating (issue 12): calibration and rolling honeypot accuracy exclude an annotator, whose labels
are kept but never counted and whose work goes to others; the manual override; suspect gold and
honeypot exposure. All on the local backend (tests/labelstudio/test_ls_gating.py: through a real
Label Studio)."""

import json
import re
import statistics
from collections import Counter

import pytest
from click.testing import CliRunner

from workbench import gating
from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.models import AnnotationStatus
from workbench.spec import load_spec
from workbench.store import Store

from helpers import ARTICLES, ROOT, pool, write_spec

DOCS = ("000_", "001_")  # the two articles tests/helpers.py campaigns label
# the spammer always answers "negative" (a spammer gives one answer; on these two articles' honeypots,
# mostly neutral, one that always says "neutral" is right as often as a careful annotator)
CROWD = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("dan", "careful"), ("sam", "spammer")) \
    + 'lean = "negative"\n'



def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def gold_table(folder, docs=DOCS) -> str:
    """A ``[gold]`` table: the sample sentiment gold of the articles (a fifth as honeypots)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gold.jsonl"
    rows = (ROOT / "tasks" / "gold" / "sentiment.jsonl").read_text("utf-8").splitlines()
    path.write_text("\n".join(r for r in rows if json.loads(r)["document"].startswith(docs)) + "\n", "utf-8")
    return f'[gold]\nfile = "{path}"\nrate = 0.2\n'


def campaign(tmp_path, home, gating_table: str = "", crowd: str = CROWD, overlap: int = 2, name: str = "g1",
             every_article: bool = False):
    docs = ("",) if every_article else DOCS
    spec = write_spec(tmp_path, name=name, pool=crowd, overlap=overlap, gold=gold_table(tmp_path, docs),
                      extra=gating_table, documents=str(ARTICLES / "*.txt") if every_article else None)
    return Campaign(load_spec(spec), Store(home))


def counted_per_unit(c):
    return Counter(a.unit_id for a in c.annotations() if a.status is AnnotationStatus.OK)


def test_calibration_excludes_the_spammer_after_its_first_tasks(tmp_path, home):
    c = campaign(tmp_path, home, "[gating]\ncalibration = 6\nmin_accuracy = 0.5\n")
    c.run()
    honeypots = {u.id: u.gold_label for u in c.units() if u.is_gold}
    # everyone's first 6 tasks were honeypots, the gold's classes in turn
    first = {}
    for a in sorted(c.state.assignments, key=lambda a: (a.annotator, a.position)):
        if a.round == 1:
            first.setdefault(a.annotator, []).append(a.unit)
    for aid, queue in first.items():
        assert all(u in honeypots for u in queue[:6]), aid
        # every class among their honeypots is in it (so always giving the commonest label fails)
        assert {honeypots[u] for u in queue[:6]} == {honeypots[u] for u in queue if u in honeypots}, aid
    # the spammer stopped after its calibration, excluded with the reason
    ex = gating.excluded_annotators(c.store, c.name)
    assert list(ex) == ["sam"]
    assert ex["sam"]["rule"] == "calibration" and ex["sam"]["reason"].startswith("calibration ")
    assert ex["sam"]["reason"].endswith("< 0.5")
    sams = [a for a in c.annotations() if a.annotator_id == "sam"]
    assert len(sams) == 6 and all(a.unit_id in honeypots for a in sams)
    assert all(a.status is AnnotationStatus.EXCLUDED for a in sams)
    # never aggregated, never in agreement or the quality table
    assert "sam" not in set(c.table()["annotator"])
    assert "sam" not in {r["annotator"] for r in c.state.quality}
    # their unanswered work was cancelled and answered by others: every unit has its overlap of counted labels
    assert not [a for a in c.state.assignments if a.annotator == "sam" and a.planned and
                a.unit not in {x.unit_id for x in sams}]
    per_unit = counted_per_unit(c)
    assert all(per_unit[u.id] == 2 for u in c.units()), Counter(per_unit[u.id] for u in c.units())
    rounds = c.status()["rounds"]
    assert rounds[-1]["kind"] == "gating" and rounds[-1]["reason"].startswith("an annotator excluded (calibration ")
    # the careful annotators passed
    assert {"ana", "ben", "chloe", "dan"} <= {r["annotator"] for r in c.state.quality}
    # status, the data card and the report say it
    st = c.status()
    assert st["annotators"]["sam"]["status"] == "excluded" and st["annotators"]["sam"]["excluded"] == 6
    assert st["gating"]["excluded"][0]["annotator"] == "sam"
    card = (home / "exports" / c.name / "README.md").read_text("utf-8")
    assert "## Gating" in card and ex["sam"]["reason"] in card
    assert not re.search(r"\bsam\b", card)  # pseudonyms only
    out = run(home, "status", c.name)
    assert out.exit_code == 0, out.output
    assert "exclude sam (calibration): calibration " in out.output


def test_gated_campaign_is_better_than_ungated(tmp_path, home):
    """The same crowd without gating: the spammer's labels count, and the consensus is worse on held-out gold."""
    gated = campaign(tmp_path / "a", home, "[gating]\ncalibration = 6\nmin_accuracy = 0.5\n", name="gated")
    plain = campaign(tmp_path / "b", home, name="plain")
    gated.run()
    plain.run()
    acc = {c.name: c.state.step("aggregate")["accuracy_held_out_gold"]["accuracy"] for c in (gated, plain)}
    assert acc["gated"] > acc["plain"], acc
    assert "sam" in set(plain.table()["annotator"])


def test_rolling_accuracy_excludes_during_the_campaign(tmp_path, home):
    crowd = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("rnd", "random"))
    c = campaign(tmp_path, home, "[gating]\nrolling_min_accuracy = 0.5\nwindow = 10\nmin_gold = 10\n", crowd=crowd,
                 every_article=True)
    c.run()
    ex = gating.excluded_annotators(c.store, c.name)
    assert list(ex) == ["rnd"] and ex["rnd"]["rule"] == "rolling"
    assert "over the last 10 honeypots < 0.5" in ex["rnd"]["reason"]
    # judged only once it had answered min_gold honeypots; stopped then (a stage later at most)
    honeypots = {u.id for u in c.units() if u.is_gold}
    mine = [a for a in c.annotations() if a.annotator_id == "rnd"]
    assert sum(a.unit_id in honeypots for a in mine) >= 10
    planned_at_start = sum(1 for a in c.state.assignments if a.annotator == "rnd" and a.round == 1)
    assert len(mine) < planned_at_start
    assert all(counted_per_unit(c)[u.id] == 2 for u in c.units())


def test_manual_exclude_and_include_round_trip(tmp_path, home):
    c = campaign(tmp_path, home)  # no [gating] rules: only the manual override
    c.run()
    before = c.state.step("aggregate")
    ben_labels = sum(1 for a in c.annotations() if a.annotator_id == "ben")
    out = run(home, "annotators", "exclude", c.name, "ben", "--reason", "asked to stop")
    assert out.exit_code == 0, out.output
    assert f"{ben_labels} label(s) kept, not counted" in out.output
    c = Campaign.open(c.name, Store(home))
    assert all(a.status is AnnotationStatus.EXCLUDED for a in c.annotations() if a.annotator_id == "ben")
    # one more place on each unit ben answered, for others; the next run fills them
    c.run()
    assert "ben" not in set(c.table()["annotator"])
    assert c.state.step("aggregate")["annotations"] == before["annotations"]  # re-aggregated, ben's replaced
    assert all(counted_per_unit(c)[u.id] == 2 for u in c.units())
    ev = gating.events(c.store, c.name)
    assert [(e["annotator"], e["action"], e["rule"], e["reason"]) for e in ev] == [
        ("ben", "exclude", "manual", "manual: asked to stop")]
    # include: ben's labels count again (on top of the replacements)
    out = run(home, "annotators", "include", c.name, "ben")
    assert out.exit_code == 0, out.output
    assert f"{ben_labels} of their labels count" in out.output
    c = Campaign.open(c.name, Store(home))
    assert sum(1 for a in c.annotations() if a.annotator_id == "ben" and a.status is AnnotationStatus.OK) == ben_labels
    c.aggregate()
    assert "ben" in set(c.table()["annotator"])
    assert [e["action"] for e in gating.events(c.store, c.name)] == ["exclude", "include"]
    out = run(home, "status", c.name)
    assert "exclude ben (manual): manual: asked to stop" in out.output and "include ben (manual)" in out.output
    # mistakes: one line each
    for args, words in ((["exclude", c.name, "nobody"], "has no annotator 'nobody'"),
                        (["include", c.name, "ana"], "ana is not excluded")):
        out = run(home, "annotators", *args)
        assert out.exit_code == 1 and words in out.output and "Traceback" not in out.output


def test_a_person_who_has_not_answered_is_neither_judged_nor_waited_for(tmp_path, home):
    crowd = CROWD + '\n[[annotators]]\nid = "you"\nemail = "you@example.org"\n'
    c = campaign(tmp_path, home, "[gating]\ncalibration = 6\nmin_accuracy = 0.5\n", crowd=crowd)
    result = c.run()
    assert list(gating.excluded_annotators(c.store, c.name)) == ["sam"]
    assert result["export"]["records"] > 0
    assert any(a.annotator == "you" and a.planned for a in c.state.assignments)  # their share still waits


def test_suspect_gold_is_found_listed_and_can_be_dropped(tmp_path, home):
    crowd = pool(("ana", "expert"), ("ben", "expert"), ("chloe", "expert"), ("dan", "expert"), ("sam", "spammer"))
    c = campaign(tmp_path, home, overlap=3, crowd=crowd)
    c.run()
    honeypots = sorted((u for u in c.units() if u.is_gold), key=lambda u: u.id)
    skill = gating.strength(c.state.quality, c.state.step("aggregate")["method"])
    strong = {a for a, v in skill.items() if v >= statistics.median(skill.values())}
    # the simulated crowd answers around the gold label, so a wrong gold label is written into the
    # store after the labels are in: the crowd answered the right one, as people would
    target = next(u for u in honeypots
                  if len(ans := [a for a in c.annotations() if a.unit_id == u.id and a.annotator_id in strong]) >= 2
                  and all(a.label == u.gold_label for a in ans))
    wrong = next(x for x in c.task_type.schema.labels if x != target.gold_label)
    c.store.execute("UPDATE units SET gold_json=? WHERE campaign=? AND id=?", (json.dumps(wrong), c.name, target.id))
    c = Campaign.open(c.name, Store(home))
    found = c.agreement()["gold_health"]
    assert target.id in found["suspect_gold"] and found["dropped"] == []
    listed = {s["unit"]: s for s in gating.gold_health(c.state, c.spec)["suspect_gold"]}
    assert listed[target.id]["gold"] == wrong and listed[target.id]["answer"] == target.gold_label
    out = run(home, "annotators", c.name)
    assert "suspect gold: " in out.output and target.id in out.output
    gold_n = {r["annotator"]: r["gold_n"] for r in c.state.quality}
    # drop_suspect_gold: the honeypot stops scoring anyone
    spec = c.spec.path
    spec.write_text(spec.read_text("utf-8") + "\n[gating]\ndrop_suspect_gold = true\n", "utf-8")
    c = Campaign(load_spec(spec), Store(home))
    c.agreement()
    assert target.id not in c.state.honeypot_gold
    after = {r["annotator"]: r["gold_n"] for r in c.state.quality}
    answered = {a.annotator_id for a in c.annotations() if a.unit_id == target.id}
    assert all(after[a] == gold_n[a] - 1 for a in answered if a in after)
    assert c.status()["gating"]["suspect_gold"][0]["dropped"] is True


def test_suspect_gold_needs_most_strong_annotators():
    """The rule alone: a honeypot is suspect only when more than half of the strong annotators who
    answered it gave one same other answer."""
    from workbench.models import Annotation, LabelKind, LabelSchema, Unit

    class State:
        schema = LabelSchema(LabelKind.SINGLE, ("a", "b", "c"))
        units = [Unit("u1", "t", "d", 0, 1, "x", is_gold=True, gold_label="a"),
                 Unit("u2", "t", "d", 0, 1, "x", is_gold=True, gold_label="a")]
        annotations = [Annotation("u1", w, lab) for w, lab in (("s1", "b"), ("s2", "b"), ("s3", "a"), ("w1", "c"))] \
            + [Annotation("u2", w, lab) for w, lab in (("s1", "b"), ("s2", "c"), ("s3", "a"))]

    quality = [{"annotator": a, "gold_accuracy": acc} for a, acc in
               (("s1", 0.9), ("s2", 0.9), ("s3", 0.8), ("w1", 0.2))]
    found = gating.suspect_gold(State(), quality, "majority")
    assert [s["unit"] for s in found] == ["u1"] and found[0]["against_n"] == 2 and found[0]["strong_n"] == 2
    assert gating.suspect_gold(State(), quality, "majority", excluded=["s1"]) == []


def test_exposure_is_tracked_and_warned(tmp_path, home):
    c = campaign(tmp_path, home, "[gating]\nmax_exposure = 0.3\n")
    c.run()
    info = gating.gold_health(c.state, c.spec)
    n = len([u for u in c.units() if u.is_gold])
    for aid, seen in info["exposure"].items():
        assert seen["of"] == n
        assert seen["seen"] == len({a.unit_id for a in c.annotations() if a.annotator_id == aid
                                    and a.unit_id in c.honeypot_gold()})
    assert info["overexposed"] == sorted(a for a, v in info["exposure"].items() if v["share"] > 0.3)
    assert info["overexposed"]
    out = run(home, "annotators", c.name, "--json")
    rows = {r["annotator"]: r for r in json.loads(out.output)}
    assert rows[info["overexposed"][0]]["gold_seen"]["seen"] > 0.3 * n
    out = run(home, "annotators", c.name)
    assert f"honeypot exposure above 30%: {', '.join(info['overexposed'])}" in out.output


@pytest.mark.parametrize("table, words", [
    ("calibration = -1", "gating.calibration: expected a whole number of honeypots >= 0, got -1"),
    ("min_accuracy = 1.5", "gating.min_accuracy: expected a share in [0, 1], got 1.5"),
    ("window = 0", "gating.window: expected a whole number of honeypots >= 1, got 0"),
    ("window = 3\nmin_gold = 5", "gating.min_gold: expected at most gating.window (3) honeypots, got 5"),
    ("calibraton = 5", "gating.calibraton: unknown field"),
    ("drop_suspect_gold = 1", "gating.drop_suspect_gold: expected bool, got 1"),
    ("rolling_min_accuracy = 'high'", "gating.rolling_min_accuracy: expected int or float, got 'high'"),
])
def test_bad_gating_values_give_one_line(tmp_path, home, table, words):
    spec = write_spec(tmp_path, pool=CROWD, gold=gold_table(tmp_path), extra=f"[gating]\n{table}\n")
    out = run(home, "plan", str(spec))
    assert out.exit_code == 1, out.output
    assert words in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_gating_needs_honeypots(tmp_path):
    spec = write_spec(tmp_path, pool=CROWD, extra="[gating]\ncalibration = 5\n")
    with pytest.raises(WorkbenchError, match="gating: judges annotators on honeypots: it needs gold.file"):
        load_spec(spec)


def test_a_constant_labeler_fails_calibration_on_a_skewed_run_of_honeypots():
    """Label Studio's stream decides which honeypots someone meets first: five of one class and one of
    another let 'always the commonest label' score 5/6; by class (each shrunk towards 5/6 by one
    pseudo-answer) it is 0.97 and 0.42, so 0.69, and it fails."""
    from workbench.gating import judge
    from workbench.spec import GatingSpec

    g = GatingSpec(calibration=6, min_accuracy=0.7)
    constant = [(f"u{i}", 1.0, "neutral") for i in range(5)] + [("u5", 0.0, "positive")]
    careful = [(f"u{i}", 1.0, "neutral") for i in range(4)] + [("u4", 0.0, "neutral"), ("u5", 1.0, "positive")]
    random_luck = [("u0", 1.0, "positive"), *[(f"u{i}", 0.0, "neutral") for i in range(1, 5)], ("u5", 1.0, "neutral")]
    out = {aid: reason for aid, _, reason, _ in judge(g, {"sam": constant, "ana": careful, "rex": random_luck},
                                                         ["sam", "ana", "rex"], {})}
    assert set(out) == {"sam", "rex"}  # the careful one (5/6, 0.86 by class) passes
    assert out["sam"] == "calibration 5/6 = 0.83, 0.69 averaged over the 2 gold classes < 0.7"
    assert out["rex"] == "calibration 2/6 = 0.33 < 0.7"  # lucky on the one positive: the plain figure decides
