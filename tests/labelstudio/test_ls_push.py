"""Push to a real Label Studio: one project, every unit exactly once, resumable, predictions, gold hidden."""

from __future__ import annotations

from collections import Counter

import pytest

from workbench.api import BackendType
from workbench.backends.labelstudio.backend import LabelStudioBackend
from workbench.errors import WorkbenchError

from lsutil import Faults, ls_spec, open_campaign, project_id, project_tasks, run


def planned(tmp_path, name, url, **kw):
    c = open_campaign(ls_spec(tmp_path / "spec", name, url, **kw), tmp_path / "home")
    c.plan()
    c.assign()
    return c


def with_transport(campaign, transport):
    """The campaign's backend talking through ``transport`` (faults injected at the HTTP layer)."""
    from workbench.backends import BackendContext

    campaign._backend = LabelStudioBackend(
        BackendContext(campaign.effective_spec(), campaign.store, campaign.task_type, campaign.registry),
        transport=transport)
    return campaign


def unit_counts(admin, campaign) -> Counter:
    return Counter(t["data"]["unit_id"] for t in project_tasks(admin, project_id(campaign)))


def test_push_twice_sends_each_unit_once(tmp_path, ls_env, admin, name):
    c = planned(tmp_path, name, ls_env, extra_backend="batch_size = 7\n")
    first = c.push()
    assert first["pushed"] == len(c.units()) > 20 and first["url"].endswith(f"/projects/{project_id(c)}/data")
    again = c.push()
    assert again["pushed"] == 0 and again["already_there"] == len(c.units())
    # a store that lost its record of the push (killed before recording) must not duplicate either
    c.store.conn.execute("DELETE FROM backend_tasks WHERE campaign=?", (c.name,))
    third = c.push()
    assert third["pushed"] == len(c.units())  # recorded again, found on the server, not imported
    counts = unit_counts(admin, c)
    assert set(counts) == {u.id for u in c.units()} and set(counts.values()) == {1}
    project = admin.get(f"/api/projects/{project_id(c)}/").json()
    assert project["maximum_annotations"] == 2 and project["title"] == c.name


def test_lost_import_answers_never_duplicate(tmp_path, ls_env, admin, name):
    c = planned(tmp_path, name, ls_env, extra_backend="batch_size = 5\n")
    imports = []

    def rule(request, n):  # every other import: the server imports the batch, then the answer is lost
        if request.url.path.endswith("/import"):
            imports.append(n)
            return "lose" if len(imports) % 2 == 0 else None
        return None

    with_transport(c, Faults(rule))
    summary = c.push()  # each lost answer is checked against the server's tasks, not sent again
    assert summary["pushed"] == len(c.units())
    counts = unit_counts(admin, c)
    assert set(counts) == {u.id for u in c.units()} and set(counts.values()) == {1}


def test_push_resumes_after_a_failed_import(tmp_path, ls_env, admin, name):
    c = planned(tmp_path, name, ls_env, extra_backend="batch_size = 5\n")
    imports = []

    def rule(request, n):  # from the third import on, the server keeps failing
        if request.url.path.endswith("/import"):
            imports.append(n)
            return "503" if len(imports) >= 3 else None
        return None

    with_transport(c, Faults(rule))
    with pytest.raises(WorkbenchError, match="10 units are in and recorded; run `push` again"):
        c.push()
    assert c.store.one("SELECT COUNT(*) FROM backend_tasks WHERE campaign=?", c.name)[0] == 10
    assert c.status()["steps"]["push"]["done"] is False
    c._backend = None  # a backend without the faults
    summary = c.push()
    assert (summary["pushed"], summary["already_there"]) == (len(c.units()) - 10, 10)
    counts = unit_counts(admin, c)
    assert set(counts) == {u.id for u in c.units()} and set(counts.values()) == {1}


def test_tasks_carry_unit_ids_and_predictions_and_hide_gold(tmp_path, ls_env, admin, name):
    gold = tmp_path / "gold.jsonl"
    c0 = planned(tmp_path / "g", name + "-g", ls_env)
    with open(gold, "w") as fh:
        import json

        for u in c0.units()[:12]:
            fh.write(json.dumps({"unit_id": u.id, "label": "unimportant"}) + "\n")
    c = planned(tmp_path, name, ls_env, gold=f'[gold]\nfile = "{gold}"\nrate = 0.2')
    c.push()
    tasks = {t["data"]["unit_id"]: t for t in project_tasks(admin, project_id(c))}
    honeypots = {u.id for u in c.units() if u.is_gold}
    assert honeypots
    pre = c.prelabels()
    for u in c.units():
        t = tasks[u.id]
        assert set(t["data"]) == {"text", "context", "unit_id"}  # nothing says "gold"
        assert t["data"]["text"] == u.text
        (p,) = t["predictions"]
        assert p["model_version"] == "claims 0.1.0" and p["score"] == pytest.approx(pre[u.id].score)
        assert p["result"][0]["value"]["choices"] == [pre[u.id].label]
        assert t["overlap"] == c.spec.overlap  # honeypots too: the Data Manager's counts do not give them away


def test_invalid_label_config_is_refused_before_the_server(tmp_path, ls_env, with_plugin, name):
    from workbench.api import hookimpl
    from workbench.models import LabelKind, LabelSchema
    from workbench.tasktype import TaskType

    class Broken(TaskType):
        name = "broken"
        schema = LabelSchema(LabelKind.SINGLE, ("a", "b"))

        def label_config(self):
            return '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/>'

    class Plugin:
        @hookimpl
        def register_task_types(self, register):
            register(Broken())

    with_plugin(Plugin())
    spec = ls_spec(tmp_path, name, ls_env, task_type="broken")
    result = run("run", str(spec), "--until", "push", home=tmp_path / "home")
    assert result.exit_code == 1
    assert "label config is invalid" in result.output and len(result.output.strip().splitlines()) == 1


def test_backend_options_are_checked(tmp_path, ls_env, name):
    spec = ls_spec(tmp_path, name, ls_env, extra_backend="colour = 3\n")
    result = run("run", str(spec), home=tmp_path / "home")
    assert result.exit_code == 1 and "backend.colour: unknown field" in result.output
    spec = ls_spec(tmp_path, name, ls_env, extra_backend="batch_size = 0\n")
    result = run("run", str(spec), home=tmp_path / "home2")
    assert result.exit_code == 1 and "backend.batch_size: expected an integer >= 1" in result.output


def test_labelstudio_backend_is_a_plugin_like_any_other():
    from workbench.backends.labelstudio import plugin as ls_plugin
    from workbench.registry import get_registry

    reg = get_registry()
    entry = reg.get("backends", "labelstudio")
    assert isinstance(entry, BackendType) and entry.factory is ls_plugin.make_backend
    assert reg.entries["backends"]["labelstudio"].plugin == "workbench.backends.labelstudio.plugin"
    provided = {p["name"]: p for p in reg.plugins()}["workbench.backends.labelstudio.plugin"]
    assert provided["hooks"] == ["register_backends", "register_commands"]
