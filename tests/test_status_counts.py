"""Status and the run's report count in SQL (issue 14: a no-op `run` on a million units must not
read every assignment and annotation as objects). These tests hold the SQL counts to what the
read model's objects say, on campaigns with gaps, extra answers and people still to answer."""

import sqlite3

from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.spec import load_spec
from workbench.status import coverage
from workbench.store import Store

from helpers import pool, write_spec

PERSON = '\n[[annotators]]\nid = "pat"\nemail = "pat@example.org"\n'
CROWD = pool(("ana", "expert"), ("ben", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def reference_coverage(spec, state) -> dict:
    """The coverage as it was computed before (every assignment and annotation as an object)."""
    crowd = {a.id for a in spec.active_annotators if a.simulated}
    planned: dict[str, set[str]] = {}
    for a in state.assignments:
        if a.planned:
            planned.setdefault(a.unit, set()).add(a.annotator)
    counted: dict[str, int] = {}
    gave: dict[str, set[str]] = {}
    extra: dict[str, int] = {}
    for x in state.annotations:
        gave.setdefault(x.unit_id, set()).add(x.annotator_id)
        if x.status.value == "ok":
            counted[x.unit_id] = counted.get(x.unit_id, 0) + 1
        elif x.status.value == "extra":
            extra[x.unit_id] = extra.get(x.unit_id, 0) + 1
    cu, cp, pu, pp = 0, 0, 0, 0
    for unit, who in planned.items():
        short = len(who) - counted.get(unit, 0)
        if short <= 0:
            continue
        theirs = min(short, len({a for a in who if a in crowd} - gave.get(unit, set())))
        cu += theirs > 0
        cp += theirs
        pu += short > theirs
        pp += short - theirs
    return {"units_over": len(extra), "extra": sum(extra.values()), "units_short_crowd": cu,
            "open_crowd_places": cp, "units_short_people": pu, "open_people_places": pp,
            "simulated": state.step("simulate") is not None or any(x.annotator_id in crowd for x in state.annotations)}


def _check(c: Campaign) -> dict:
    c._fresh()
    spec, state = c.effective_spec(), c.state
    got = coverage(spec, state)
    assert got == reference_coverage(spec, state)
    want = {}
    for a in state.assignments:
        if a.planned:
            want[a.annotator] = want.get(a.annotator, 0) + 1
    assert state.planned_per_annotator == want
    assert state.round_count == len(state.rounds)
    return got


def test_coverage_counts_gaps_extras_and_people(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD + PERSON, overlap=3)
    c = Campaign(load_spec(spec), Store(home))
    c.run()
    cov = _check(c)
    # the person has not answered: their places are open, the crowd's are all filled
    assert cov["units_short_people"] > 0 and cov["open_people_places"] > 0
    assert cov["units_short_crowd"] == 0 and cov["units_over"] == 0 and cov["simulated"]

    # a gap in the crowd's work (answers lost), a skipped answer (given, so not the crowd's to fill)
    # and an extra answer beyond a unit's plan
    db = sqlite3.connect(home / "workbench.db")
    with db:
        rows = db.execute("SELECT rowid, (SELECT id FROM unit_keys WHERE n=unit), annotator_id FROM annotations WHERE campaign='c1' AND status='ok' "
                          "AND annotator_id != 'pat' ORDER BY unit, annotator_id").fetchall()
        assert len(rows) > 10
        db.execute("DELETE FROM annotations WHERE rowid IN (?, ?)", (rows[0][0], rows[5][0]))
        db.execute("UPDATE annotations SET status='skipped' WHERE rowid=?", (rows[9][0],))
        db.execute("UPDATE annotations SET status='extra' WHERE rowid=?", (rows[10][0],))
    db.close()
    cov = _check(c)
    assert cov["units_short_crowd"] >= 2 and cov["open_crowd_places"] >= 2
    assert cov["units_over"] == 1 and cov["extra"] == 1

    # status and the run's report say it (the report lists the person with their assigned units)
    runner = CliRunner()
    out = runner.invoke(cli(), ["--home", str(home), "status", "c1"])
    assert out.exit_code == 0, out.output
    assert "unit(s) are below their plan" in out.output and "more answers than their plan" in out.output
    assert "wait for people" in out.output


def test_the_run_report_names_who_has_not_labeled(tmp_path, home):
    spec = write_spec(tmp_path, pool=CROWD + PERSON, overlap=3)
    runner = CliRunner()
    out = runner.invoke(cli(), ["--home", str(home), "run", str(spec)])
    assert out.exit_code == 0, out.output
    c = Campaign(load_spec(spec), Store(home))
    assigned = sum(1 for a in c.state.assignments if a.planned and a.annotator == "pat")
    assert assigned > 0
    assert f"no labels yet: pat ({assigned} assigned)" in out.output
    # a second round shows in the report's round count
    c.add_round(list(c.disputed_units())[:3] or [c.units()[0].id], extra=1)
    out = runner.invoke(cli(), ["--home", str(home), "run", str(spec)])
    assert out.exit_code == 0, out.output
    assert "rounds: 2;" in out.output
