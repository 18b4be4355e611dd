"""A running campaign takes an edited spec (issue 9): annotators join and retire, the overlap goes up,
the method changes; each edit is a recorded version, and the identity stays fixed."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.spec import load_spec
from workbench.store import Store

from helpers import ARTICLES, pool, write_spec

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


@pytest.fixture
def gold(tmp_path):
    """Gold for every unit of two articles (the labels do not matter here)."""
    spec = write_spec(tmp_path / "g", name="g", pool=CROWD)
    c = Campaign(load_spec(spec), Store(tmp_path / "ghome"))
    c.plan()
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps({"unit_id": u, "label": p.label}) + "\n" for u, p in c.prelabels().items()))
    return path


def spec_with(tmp_path, gold, crowd=CROWD, overlap=3, extra=""):
    return write_spec(tmp_path / "spec", name="c1", pool=crowd, overlap=overlap,
                      gold=f'[gold]\nfile = "{gold}"\nrate = 0.2', extra=extra)


def per_unit(c) -> Counter:
    return Counter(a.unit_id for a in c.annotations())


def test_add_an_annotator_raise_overlap_change_method(tmp_path, home, gold):
    spec = spec_with(tmp_path, gold)
    assert run(home, "run", str(spec)).exit_code == 0
    c = Campaign.open("c1", Store(home))
    honeypots = {u.id for u in c.units() if u.is_gold}
    before = {(a.unit_id, a.annotator_id, str(a.label)) for a in c.annotations()}
    assert len(honeypots) > 3 and set(per_unit(c).values()) == {3}  # honeypots are blind: overlap 3 too

    spec = spec_with(tmp_path, gold, crowd=CROWD + pool(("fay", "careful")), overlap=4,
                     extra='show_prelabels = true\n[aggregate]\nmethod = "dawid_skene"')
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    c = Campaign.open("c1", Store(home))
    after = {(a.unit_id, a.annotator_id, str(a.label)) for a in c.annotations()}
    assert before < after  # nothing redone: every earlier label is still there, unchanged
    assert {u.id for u in c.units() if u.is_gold} == honeypots  # honeypots stay the ones first picked
    counts = per_unit(c)
    for u in c.units():
        assert counts[u.id] == 4, u.id  # honeypots like any other unit
    fay = [a for a in c.annotations() if a.annotator_id == "fay"]
    fay_gold = {a.unit_id for a in fay} & honeypots
    assert fay_gold and len(fay) > len(fay_gold)  # she got honeypots and work
    assert len(fay_gold) / len(fay) == pytest.approx(len(honeypots) / len(counts), abs=0.1)
    assert {a.round for a in fay} == {2} and {a.round for a in c.annotations() if (a.unit_id, a.annotator_id,
                                                                                  str(a.label)) in before} == {1}
    st = c.status()
    assert [v["version"] for v in st["versions"]] == [1, 2]
    assert st["versions"][1]["changes"] == ["overlap: 3 -> 4", "show_prelabels: false -> true", "annotators: + fay (careful)",
                                            "aggregate.method: 'majority' -> 'dawid_skene'"]
    assert [(r["round"], r["kind"], r["spec_version"]) for r in st["rounds"]] == [(1, "initial", 1), (2, "spec", 2)]
    assert c.state.step("aggregate")["method"] == "dawid_skene"
    card = (home / "exports" / "c1" / "README.md").read_text()
    assert "## Campaign history" in card and "overlap: 3 -&gt;" not in card and "overlap: 3 -> 4" in card
    # the same spec again changes nothing
    rows = {t: sorted(map(tuple, c.store.all(f"SELECT * FROM {t} WHERE campaign=?", "c1")))
            for t in ("assignments", "annotations", "rounds", "spec_versions")}
    assert run(home, "run", str(spec)).exit_code == 0
    assert rows == {t: sorted(map(tuple, c.store.all(f"SELECT * FROM {t} WHERE campaign=?", "c1"))) for t in rows}


def test_assign_alone_applies_a_new_annotator(tmp_path, home, gold):
    """It used to exit 0 and silently leave them out."""
    assert run(home, "run", str(spec_with(tmp_path, gold))).exit_code == 0
    spec = spec_with(tmp_path, gold, crowd=CROWD + '[[annotators]]\nid = "maria"\nemail = "maria@example.org"\n')
    result = run(home, "assign", str(spec), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["per_annotator"]["maria"] > 0 and summary["round"]["round"] == 2
    # every unit was answered: maria gets her share of the units that need another label most (lowest
    # agreement first), each with one more annotator than before, honeypots among them in the
    # campaign's proportion (so nothing in her stream tells them apart)
    c = Campaign.open("c1", Store(home))
    mine = [a.unit for a in c.state.assignments if a.annotator == "maria" and a.planned]
    honeypots = {u.id for u in c.units() if u.is_gold}
    regular = [u for u in mine if u not in honeypots]
    others = Counter(a.annotator for a in c.state.assignments if a.planned and a.annotator != "maria")
    assert len(mine) == round(sum(others.values()) / 5)  # a fair share
    assert len(set(mine) & honeypots) == round(len(mine) * len(honeypots) / len(c.units())) > 0
    counts = Counter(a.unit for a in c.state.assignments if a.planned)
    assert {counts[u] for u in mine} == {4} and set(counts.values()) == {3, 4}
    agreement = dict(zip(c.state.unit_agreement["unit"], c.state.unit_agreement["agreement"]))
    given = sorted(agreement[u] for u in regular)
    rest = sorted(a for u, a in agreement.items() if u not in regular and u not in honeypots)
    assert given[-1] <= rest[0]  # the lowest agreement first
    assert "maria: " in summary["round"]["reason"] and "need it most" in summary["round"]["reason"]


def test_a_newcomer_takes_over_unanswered_work(tmp_path, home, gold):
    spec = spec_with(tmp_path, gold)
    assert run(home, "run", str(spec), "--until", "push").exit_code == 0  # nobody has labeled anything yet
    c = Campaign.open("c1", Store(home))
    loads = Counter(a.annotator for a in c.state.assignments if a.planned)
    spec = spec_with(tmp_path, gold, crowd=CROWD + pool(("fay", "careful")))
    assert run(home, "run", str(spec)).exit_code == 0
    c = Campaign.open("c1", Store(home))
    planned = [a for a in c.state.assignments if a.planned]
    now = Counter(a.annotator for a in planned)
    assert max(now.values()) - min(now.values()) <= 1 and now["fay"] > 0  # even loads, fay included
    assert sum(now.values()) == sum(loads.values())  # work moved, not added: still three per unit
    assert set(Counter(a.unit for a in planned).values()) == {3}
    fay_gold = sum(1 for a in planned if a.annotator == "fay" and c.state.units_by_id[a.unit].is_gold)
    share = sum(u.is_gold for u in c.units()) / len(c.units())
    assert abs(fay_gold - share * now["fay"]) <= 1  # gold in the campaign's proportion
    moved = [a for a in c.state.assignments if a.cancelled]
    assert moved and all(x.cancelled == "moved to fay" for x in moved)
    assert not any(a.annotator_id != "fay" and (a.unit_id, a.annotator_id) in {(m.unit, m.annotator) for m in moved}
                   for a in c.annotations())  # a moved assignment was never answered by its old annotator


def test_retiring_an_annotator(tmp_path, home, gold):
    spec = spec_with(tmp_path, gold)
    assert run(home, "run", str(spec), "--until", "push").exit_code == 0
    crowd = CROWD.replace('id = "sam"\npersona = "spammer"', 'id = "sam"\npersona = "spammer"\nretired = true')
    assert run(home, "run", str(spec_with(tmp_path, gold, crowd=crowd))).exit_code == 0
    c = Campaign.open("c1", Store(home))
    assert not [a for a in c.annotations() if a.annotator_id == "sam"]  # retired before answering anything
    assert set(per_unit(c).values()) == {3}
    st = c.status()
    assert st["annotators"]["sam"]["status"] == "retired" and st["annotators"]["sam"]["assigned"] == 0


def test_an_annotator_dropped_from_the_file_is_retired_and_keeps_their_labels(tmp_path, home, gold):
    assert run(home, "run", str(spec_with(tmp_path, gold))).exit_code == 0
    kept = len([a for a in Campaign.open("c1", Store(home)).annotations() if a.annotator_id == "sam"])
    crowd = pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("fay", "careful"))
    result = run(home, "run", str(spec_with(tmp_path, gold, crowd=crowd)))
    assert result.exit_code == 0, result.output
    c = Campaign.open("c1", Store(home))
    assert len([a for a in c.table().itertuples() if a.annotator == "sam"]) == kept > 0  # still counted
    changes = c.status()["versions"][-1]["changes"]
    assert "annotators: + fay (careful)" in changes
    assert "annotators: - sam (no longer in the spec: retired, their labels kept)" in changes
    assert c.status()["annotators"]["sam"]["status"] == "retired"


def test_identity_changes_are_refused_once_work_is_handed_out(tmp_path, home, gold):
    spec = spec_with(tmp_path, gold)
    c = Campaign(load_spec(spec), Store(home))
    c.plan()
    # before assignment nothing is handed out: other documents are still fine
    other = write_spec(tmp_path / "other", name="c1", pool=CROWD, documents=str(ARTICLES / "000_*.txt"))
    Campaign(load_spec(other), Store(home)).plan()
    Campaign(load_spec(spec), Store(home)).run(until="assign")
    for edit, field in [(lambda s: s.replace("seed = 5", "seed = 6"), "seed"),
                        (lambda s: s.replace("rate = 0.2", "rate = 0.3"), "gold.rate"),
                        (lambda s: s.replace('task_type = "sentiment"', 'task_type = "claims"'), "task_type")]:
        text = spec.read_text()
        spec.write_text(edit(text))
        with pytest.raises(WorkbenchError, match=rf"{field}: changed after campaign 'c1' handed out work"):
            Campaign(load_spec(spec), Store(home)).assign()
        spec.write_text(text)
    (tmp_path / "gold.jsonl").write_text((tmp_path / "gold.jsonl").read_text().replace('"neutral"', '"positive"'))
    with pytest.raises(WorkbenchError, match=r"gold.file: changed after .*the gold file's contents changed"):
        Campaign(load_spec(spec), Store(home)).run()
