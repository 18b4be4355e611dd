"""A multi-choice task on a real Label Studio: a person may answer "none of these" (issue 10: the generated
config made every choice required, although the schema, the simulated crowd and the docs allow [])."""

from __future__ import annotations

import types
from datetime import datetime, timezone

from workbench.api import LabelKind, LabelSchema, TaskType, hookimpl
from workbench.backends.labelstudio.accounts import browser, csrf_headers, sign_up

from lsutil import ls_spec, open_campaign, project_id, run


class Topics(TaskType):
    name = "topics-ls"
    schema = LabelSchema(LabelKind.MULTI, ("money", "people", "technology"))
    from_name = "topics"


def test_an_empty_multi_choice_answer_is_an_answer(tmp_path, ls_env, admin, name, with_plugin):
    mod = types.ModuleType("topics_ls")
    mod.register_task_types = hookimpl(lambda register: register(Topics()))
    with_plugin(mod)
    email = f"{name}@example.org"  # the server is shared by the session's tests: an account of its own
    spec = ls_spec(tmp_path, name, ls_env, task_type="topics-ls", overlap=1,
                   pool=f'[[annotators]]\nid = "pat"\nemail = "{email}"\n')
    home = tmp_path / "home"
    c = open_campaign(spec, home)
    c.run(until="push")
    pid = project_id(c)
    project = admin.get(f"/api/projects/{pid}/").json()
    assert project["enable_empty_annotation"] is True and "required" not in project["label_config"]
    invite = run("invite", str(spec), email, "--json", home=home)
    assert invite.exit_code == 0, invite.output
    token = invite.output.split("token=")[1].split('"')[0]
    with browser(ls_env) as ui:
        assert sign_up(ui, email, "a-Long-pass-123", invite_token=token)
        task = ui.get(f"/api/projects/{pid}/next/").json()  # the labeling stream, as "Label All Tasks" does
        body = {"lead_time": 4.0, "result": [], "draft_id": 0, "parent_prediction": None,
                "parent_annotation": None, "started_at": datetime.now(timezone.utc).isoformat(), "project": str(pid)}
        r = ui.post(f"/api/tasks/{task['id']}/annotations/", params={"project": pid}, json=body,
                    headers=csrf_headers(ui))
        assert r.status_code == 201, r.text
    pulled = c.pull()
    assert (pulled["new"], pulled["invalid"], pulled["total_ok"]) == (1, 0, 1)
    (a,) = c.annotations()
    assert a.annotator_id == "pat" and a.label == () and a.status.value == "ok"
