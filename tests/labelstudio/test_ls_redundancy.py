"""Adaptive redundancy on a real Label Studio (issue 12): `run` gives the units below target more
places (raising their task's overlap on the server where a person has a place), the simulated personas answer the new places planned for them, and the loop
stops on its own, with a person's places still open: once a later round has gone by without them,
their units are judged on the answers they have (it does not wait for them)."""

from __future__ import annotations

import json
from collections import Counter

from helpers import pool
from lsutil import ls_spec, open_campaign, project_id, project_tasks, run

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("dev", "hasty"), ("sam", "spammer"))


def test_adaptive_rounds_on_label_studio(tmp_path, ls_env, admin, name):
    home = tmp_path / "home"
    person = f"pia-{name}@example.org"
    spec = ls_spec(tmp_path, name, ls_env, overlap=2,
                   pool=CROWD + f'\n[[annotators]]\nid = "pia"\nemail = "{person}"\n')
    spec.write_text(spec.read_text() + '\n[aggregate]\nmethod = "majority"\n'
                    "\n[redundancy]\ninitial = 2\nmax = 4\ntarget = 0.9\n")
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    loop = json.loads(result.output)["redundancy"]
    assert loop["rounds"], loop  # some units were below target after the first round
    assert loop["stopped"] == "every unit settled"  # pia's places stay open: the loop did not wait for them
    c = open_campaign(spec, home)
    planned = Counter(a.unit for a in c.state.assignments if a.planned)
    pia = {a.unit for a in c.state.assignments if a.planned and a.annotator == "pia"}
    assert {a.unit for a in c.state.assignments if a.annotator == "pia" and a.round > 1} == set()
    assert len(pia) > 0 and loop["open_places"] == 0  # pia's places are overdue, not awaited
    tasks = {t["data"]["unit_id"]: t for t in project_tasks(admin, project_id(c))}
    # the server's overlap is the plan's number of annotators where a person has a place (the stream goes by
    # it), raised where the policy asked; a task only the crowd works keeps its first overlap
    assert {u: t["overlap"] for u, t in tasks.items()} == {u: n if u in pia else 2 for u, n in planned.items()}
    grown = {u for u, n in planned.items() if n > 2}
    assert grown and max(planned.values()) <= 4
    # every place the crowd may take was answered on the server, by distinct users
    for u, t in tasks.items():
        users = [a["completed_by"] for a in t["annotations"]]
        assert len(users) == len(set(users)) == planned[u] - (u in pia), u
    later = [a for a in c.annotations() if a.round > 1]
    # (a persona Label Studio's stream hands another's place swaps places with them in the plan, and an
    # answer keeps the round of the place it fills, so a later round's answer may count as round 1: the
    # per-task counts above are the exact check)
    assert 0 < len(later) <= sum(planned[u] - 2 for u in grown)
    assert {a.annotator_id for a in later} <= {"ana", "ben", "chloe", "dev", "sam"}
    # the policy's account of it: every unit reached target or max, pia's on the crowd's answers
    st = c.status()["redundancy"]
    assert st["adaptive_rounds"] == len(loop["rounds"]) and st["waiting"] == 0
    assert st["settled"]["target"] + st["settled"]["max"] + st["settled"]["no one left"] == len(planned)
    shares = {}
    for u, g in c.table().groupby("unit"):
        shares[u] = g["label"].astype(str).value_counts().iloc[0] / len(g)
    assert all(shares[u] >= 0.9 or planned[u] == 4 for u in planned)
    # the next run finds nothing to do and stops at once
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)["redundancy"]
    assert again["rounds"] == [] and again["stopped"] == "every unit settled"
