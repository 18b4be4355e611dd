"""Campaigns as rounds (issue 9): a second round by hand gives some units more annotators without
redoing the rest, and the store says which round produced what."""

import json
from collections import Counter

from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.spec import load_spec
from workbench.store import Store

from helpers import pool, write_spec

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def test_a_second_round_by_hand(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD, overlap=2)
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    first = {(a.unit_id, a.annotator_id): (str(a.label), a.created_at) for a in c.annotations()}
    disputed = c.disputed_units()
    assert 5 < len(disputed) < len(c.units())
    made = c.add_round(disputed, extra=1, reason="one more label where the first two disagree")
    assert made["round"] == 2 and made["assignments"] == len(disputed) and made["short"] == 0
    # the new round's work goes through the same steps, and only it is done
    assert c.push()["overlap_changed"] == len(disputed)
    assert c.simulate()["labels_made"] == len(disputed)
    pulled = c.pull()
    assert pulled["new"] == len(disputed) and pulled["extra"] == 0 and pulled["unchanged"] == len(first)
    c.aggregate()
    after = {(a.unit_id, a.annotator_id): (str(a.label), a.created_at) for a in c.annotations()}
    assert {k: v for k, v in after.items() if k in first} == first  # nothing redone
    new = set(after) - set(first)
    assert {u for u, _ in new} == set(disputed)
    assert all(annotator not in {a for (u2, a) in first if u2 == u} for u, annotator in new)  # a fresh pair of eyes
    rounds = Counter(a.round for a in c.annotations())
    assert rounds == {1: len(first), 2: len(disputed)}
    counts = Counter(a.unit_id for a in c.annotations())
    assert all(counts[u] == 3 for u in disputed)
    assert all(counts[u.id] == 2 for u in c.units() if u.id not in disputed and not u.is_gold)
    assert c.state.step("aggregate")["annotations"] == len(after)  # the new labels count
    st = c.status()
    assert [(r["round"], r["kind"], r["units"], r["assignments"], r["answered"]) for r in st["rounds"]] == [
        (1, "initial", len(c.units()), len(first), len(first)), (2, "more", len(disputed), len(disputed),
                                                                  len(disputed))]
    assert st["rounds"][1]["reason"] == "one more label where the first two disagree"
    again = c.run()  # a full re-run afterwards changes nothing and plans no round
    assert again["simulate"]["labels_made"] == 0 and "round" not in again["assign"]
    assert len(c.status()["rounds"]) == 2


def test_round_from_the_command_line(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD, overlap=2)
    assert run(home, "run", str(spec)).exit_code == 0
    result = run(home, "round", "c1", "--disputed", "--extra", "2", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["round"] == 2 and made["assignments"] == 2 * made["units"]
    result = run(home, "run", str(spec), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["simulate"]["labels_made"] == made["assignments"]
    status = json.loads(run(home, "status", "c1", "--json").output)
    assert status["rounds"][1]["answered"] == made["assignments"]


def test_round_mistakes(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD, overlap=2)
    assert run(home, "run", str(spec), "--until", "plan").exit_code == 0
    result = run(home, "round", "c1", "--unit", "x")
    assert result.exit_code == 1 and "run `assign` before `round`" in result.output
    assert run(home, "run", str(spec)).exit_code == 0
    result = run(home, "round", "c1", "--unit", "sentiment-nope")
    assert result.exit_code == 1 and "unit 'sentiment-nope' is not a unit of campaign 'c1'" in result.output
    result = run(home, "round", "c1")
    assert result.exit_code == 1 and "name the units" in result.output
    c = Campaign.open("c1", Store(home))
    honeypot = next(u.id for u in c.units() if u.is_gold) if any(u.is_gold for u in c.units()) else None
    regular = next(u.id for u in c.units() if not u.is_gold)
    result = run(home, "round", "c1", "--unit", regular, "--extra", "4", "--json")
    made = json.loads(result.output)
    assert made["assignments"] == 3 and made["short"] == 1 and "every active annotator already has" in made["note"]
    assert honeypot is None  # no gold in this spec: every unit is regular
