"""Gating through a real Label Studio (issue 12): a spammer persona answering its queue's calibration
honeypots on the server is excluded, stops working, its labels are flagged ``excluded`` on pull
(later ones too), and its units get to others."""

from __future__ import annotations

import json
import random
from collections import Counter

from workbench import gating
from workbench.backends.labelstudio.accounts import Credentials, persona_api, persona_email

from helpers import pool
from lsutil import ls_spec, open_campaign, project_id, project_tasks, run


def test_a_spammer_is_excluded_on_label_studio_and_its_units_go_to_others(tmp_path, ls_env, admin, name):
    home = tmp_path / "home"
    probe = open_campaign(ls_spec(tmp_path / "probe", name, ls_env), tmp_path / "probe-home")
    probe.plan()
    gold = tmp_path / "gold.jsonl"
    pre = {u: p.label for u, p in probe.prelabels().items()}
    rare = Counter(pre.values()).most_common()[-1][0]
    # the spammer always gives one label, which no honeypot has: it fails whichever honeypots the stream gives it
    # half the units as gold, drawn at random: Label Studio's stream hands tasks out in order, so every
    # other unit would line up with the personas' turns
    picked = set(random.Random(7).sample(sorted(pre), len(pre) // 2))
    gold_rows = {u: lab for u, lab in pre.items() if u in picked and lab != rare}
    gold.write_text("".join(json.dumps({"unit_id": u, "label": lab}) + "\n" for u, lab in gold_rows.items()))
    crowd = pool(("ana", "expert"), ("ben", "expert"), ("chloe", "expert"), ("sam", "spammer")) \
        + f'lean = "{rare}"\n'
    spec = ls_spec(tmp_path, name, ls_env, overlap=2, pool=crowd, gold=f'[gold]\nfile = "{gold}"\nrate = 0.3')
    spec.write_text(spec.read_text() + "\n[gating]\ncalibration = 3\nmin_accuracy = 0.5\n")
    result = run("run", str(spec), home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    ex = gating.excluded_annotators(c.store, c.name)
    assert list(ex) == ["sam"] and ex["sam"]["rule"] == "calibration"
    sams = [a for a in c.annotations() if a.annotator_id == "sam"]
    planned_first = sum(1 for a in c.state.assignments if a.annotator == "sam" and a.round == 1)
    assert 3 <= len(sams) < planned_first  # it stopped once judged
    assert all(a.status.value == "excluded" for a in sams)
    assert "sam" not in set(c.table()["annotator"])
    # on the server: each task sam answered collects one more annotation, by someone else (the plan's
    # places; a task only the crowd works keeps its first overlap: only people go by it, in the stream)
    tasks = project_tasks(admin, project_id(c))
    users = {u["id"]: u["email"] for u in admin.get("/api/users/").json()}
    sam_email = persona_email(c.name, "sam")
    planned = Counter(a.unit for a in c.state.assignments if a.planned)
    for t in tasks:
        by = [users[a["completed_by"]] for a in t["annotations"] if not a["was_cancelled"]]
        assert len(by) == planned[t["data"]["unit_id"]] == 2 + (sam_email in by), (t["id"], by)
        assert t["overlap"] == 2
    counted = Counter(a.unit_id for a in c.annotations() if a.status.value == "ok")
    assert all(counted[u.id] == 2 for u in c.units())
    assert c.status()["annotators"]["sam"]["status"] == "excluded"

    # sam (a person could) labels once more straight through the API: the next pull flags it excluded
    conn = c.backend.conn
    api = persona_api(conn.api.url, sam_email, "sam", Credentials(conn.home_dir / "credentials.json"),
                      server=conn.server_key)
    done = {t["id"] for t in tasks if any(users[a["completed_by"]] == sam_email for a in t["annotations"])}
    task = next(t for t in tasks if t["id"] not in done)
    unit = next(u for u in c.units() if u.id == task["data"]["unit_id"])
    body = {"result": c.task_type.to_ls_result(rare, unit), "lead_time": 1.0, "project": project_id(c)}
    api.request("POST", f"/api/tasks/{task['id']}/annotations/", json=body, idempotent=False,
                params={"project": project_id(c)}, what="sam's late annotation")
    api.close()
    result = run("pull", c.name, "--json", home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    late = [a for a in c.annotations() if a.annotator_id == "sam" and a.unit_id == unit.id]
    assert [a.status.value for a in late] == ["excluded"]
    assert Counter(a.unit_id for a in c.annotations() if a.status.value == "ok")[unit.id] == 2

    # include: sam's labels count again (the manual override), recorded
    result = run("annotators", "include", c.name, "sam", "--reason", "checked by hand", home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    assert {a.status.value for a in c.annotations() if a.annotator_id == "sam"} <= {"ok", "extra"}
    assert [(e["action"], e["rule"]) for e in gating.events(c.store, c.name)] == [("exclude", "calibration"),
                                                                                 ("include", "manual")]
