"""A running campaign on a real Label Studio takes an edited spec and a round by hand (issue 9): a new
persona joins and gets its share, a raised overlap gives each unit one more annotation on the
server, the method changes; then a second round gives disputed units one more label."""

from __future__ import annotations

import json
from collections import Counter

from workbench.backends.labelstudio.accounts import persona_email

from helpers import pool
from lsutil import CROWD, ls_spec, open_campaign, project_id, project_tasks, run


def server_counts(admin, c) -> dict[str, tuple[int, int]]:
    """``{unit: (annotations on the server, the task's overlap)}``."""
    return {t["data"]["unit_id"]: (len(t["annotations"]), t["overlap"]) for t in project_tasks(admin, project_id(c))}


def test_edited_spec_and_a_second_round_on_label_studio(tmp_path, ls_env, admin, name):
    home = tmp_path / "home"
    gold = tmp_path / "gold.jsonl"
    probe = open_campaign(ls_spec(tmp_path / "probe", name, ls_env), tmp_path / "probe-home")
    probe.plan()
    gold.write_text("".join(json.dumps({"unit_id": u, "label": p.label}) + "\n"
                            for u, p in list(probe.prelabels().items())[::3]))
    spec = ls_spec(tmp_path, name, ls_env, overlap=2, gold=f'[gold]\nfile = "{gold}"\nrate = 0.15')
    result = run("run", str(spec), home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    honeypots = {u.id for u in c.units() if u.is_gold}
    assert honeypots
    first = {a.backend_ids["annotation"] for a in c.annotations()}
    for unit, (n, overlap) in server_counts(admin, c).items():
        assert n == overlap == 2, unit  # honeypots are blind: the same overlap

    # the edit: a new persona, overlap 3, Dawid-Skene
    spec = ls_spec(tmp_path, name, ls_env, overlap=3, gold=f'[gold]\nfile = "{gold}"\nrate = 0.15',
                   pool=CROWD + pool(("fay", "careful")), extra_backend="")
    spec.write_text(spec.read_text() + '\n[aggregate]\nmethod = "dawid_skene"\n')
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["push"]["overlap_changed"] == len(c.units())  # every task: one more annotator
    assert out["aggregate"]["method"] == "dawid_skene"
    c = open_campaign(spec, home)
    counts = server_counts(admin, c)
    planned_per_unit = Counter(a.unit for a in c.state.assignments if a.planned)
    for unit, (n, overlap) in counts.items():
        # a task only the crowd works keeps its first overlap: only people go by it, in the stream
        assert n == planned_per_unit[unit] == 3 and overlap == 2, unit
    users = {u["id"]: u["email"] for u in admin.get("/api/users/").json()}
    fay = persona_email(c.name, "fay")
    done_by = Counter(users[a["completed_by"]] for t in project_tasks(admin, project_id(c)) for a in t["annotations"])
    planned = Counter(a.annotator for a in c.state.assignments if a.planned)
    assert done_by[fay] == planned["fay"] > 0  # fay: her share, honeypots among it
    assert {a.backend_ids["annotation"] for a in c.annotations()} >= first  # the first round's labels stay
    assert Counter(a.status.value for a in c.annotations()) == {"ok": sum(n for n, _ in counts.values())}
    assert {a.round for a in c.annotations()} == {1, 2}
    st = c.status()
    assert [v["version"] for v in st["versions"]] == [1, 2] and [r["kind"] for r in st["rounds"]] == ["initial",
                                                                                                       "spec"]
    assert st["versions"][1]["changes"] == ["overlap: 2 -> 3", "annotators: + fay (careful)",
                                            "aggregate.method: 'majority' -> 'dawid_skene'"]

    # a second round by hand: one more label for the disputed units
    disputed = c.disputed_units()
    assert disputed
    result = run("round", c.name, "--disputed", "--json", home=home)
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["units"] == len(disputed) and made["assignments"] > 0
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    after = server_counts(admin, c)
    grown = {u for u in after if after[u][0] > counts[u][0]}
    assert grown <= set(disputed) and len(grown) == made["assignments"]  # only those units, one more each
    planned_per_unit = Counter(a.unit for a in c.state.assignments if a.planned)
    assert all(after[u][0] == planned_per_unit[u] for u in after)  # the plan was met, not passed
    assert Counter(a.round for a in c.annotations())[3] == made["assignments"]
    assert not [a for a in c.annotations() if a.status.value == "extra"]
