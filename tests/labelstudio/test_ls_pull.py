"""Simulate and pull against a real Label Studio: personas as real users, a person working exactly as
the web app does, edits, deletions, skips, invalid results, extras, retries."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from test_ls_push import with_transport

from workbench.backends.labelstudio.accounts import browser, csrf_headers, persona_email, sign_up
from workbench.errors import WorkbenchError
from workbench.models import AnnotationStatus

from helpers import dump_store
from lsutil import CROWD, Faults, ls_spec, open_campaign, project_id, project_tasks, run

PAT = 'id = "pat"\nemail = "pat@example.org"'


def statuses(c) -> Counter:
    return Counter((a.annotator_id, a.status.value) for a in c.annotations())


@pytest.fixture
def no_margin(monkeypatch):
    """Pulls look back only to the second the last one started, so "only what changed" is visible."""
    from workbench.backends.labelstudio import pull

    monkeypatch.setattr(pull, "MARGIN", timedelta(0))


def test_personas_are_real_users_asking_the_queue(tmp_path, ls_env, admin, name, no_margin):
    c = open_campaign(ls_spec(tmp_path, name, ls_env), tmp_path / "home")
    results = c.run(until="pull")
    users = {u["id"]: u["email"] for u in admin.get("/api/users/").json()}
    tasks = project_tasks(admin, project_id(c))
    by_user = Counter(users[a["completed_by"]] for t in tasks for a in t["annotations"])
    planned = Counter(r[0] for r in c.store.all("SELECT annotator_id FROM assignments WHERE campaign=?", c.name))
    assert by_user == {persona_email(c.name, a): n for a, n in planned.items()}  # each did its planned share
    assert all(len(t["annotations"]) == c.spec.overlap for t in tasks)  # the server's overlap held
    assert results["simulate"]["labels_made"] == sum(planned.values())
    assert results["pull"]["total_ok"] == sum(planned.values()) and results["pull"]["invalid"] == 0
    assert {a.annotator_id for a in c.annotations()} == {"ana", "ben", "sam"}
    again = c.pull()  # incremental: nothing changed; at most the last second's tasks are looked at again
    assert (again["new"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert again["received"] == again["unchanged"] < results["pull"]["total_ok"] // 2
    assert c.simulate()["labels_made"] == 0  # every persona's share is done


def test_a_person_working_in_the_web_app(tmp_path, ls_env, admin, name, no_margin):
    pool = CROWD + f"[[annotators]]\n{PAT}\n"
    spec = ls_spec(tmp_path, name, ls_env, pool=pool)
    home = tmp_path / "home"
    c = open_campaign(spec, home)
    c.run(until="pull")
    invite = run("invite", str(spec), "pat@example.org", "--json", home=home)
    assert invite.exit_code == 0, invite.output
    info = json.loads(invite.output)
    token = parse_qs(urlsplit(info["invite_url"]).query)["token"][0]
    pid = project_id(c)
    with browser(ls_env) as ui:
        assert sign_up(ui, "pat@example.org", "a-Long-pass-123", invite_token=token)
        # pat opens tasks from the Data Manager, which the web app then submits like this: two that the
        # plan has for others only (full: a third answer is extra), then any two
        tasks = project_tasks(admin, pid)
        unit = {u.id: u for u in c.units()}
        pats = {u.id for u in c.state.queues.get("pat", [])}
        t1, t2 = [t for t in tasks if t["data"]["unit_id"] not in pats][:2]
        t3, t4 = [t for t in tasks if t not in (t1, t2)][:2]

        def submit(task, result, **extra):
            body = {"lead_time": 7.5, "result": result, "draft_id": 0, "parent_prediction": None,
                    "parent_annotation": None, "started_at": datetime.now(timezone.utc).isoformat(),
                    "project": str(pid), **extra}
            r = ui.post(f"/api/tasks/{task['id']}/annotations/", params={"project": pid}, json=body,
                        headers=csrf_headers(ui))
            assert r.status_code == 201, r.text
            return r.json()

        def choice(value):
            return [{"value": {"choices": [value]}, "id": "pX3k9a_Qz1", "from_name": "claim", "to_name": "text",
                     "type": "choices", "origin": "manual"}]

        a1 = submit(t1, choice("non-factual"))
        a2 = submit(t2, choice("check-worthy"))
        submit(t3, choice("maybe"))  # not a label of this task: the server takes it, we quarantine it
        submit(t4, [], was_cancelled=True)  # skip
        pulled = c.pull()
        assert (pulled["new"], pulled["invalid"], pulled["skipped"]) == (4, 1, 1)
        mine = {a.unit_id: a for a in c.annotations() if a.annotator_id == "pat"}
        assert mine[t1["data"]["unit_id"]].label == "non-factual"
        assert mine[t1["data"]["unit_id"]].status is AnnotationStatus.EXTRA  # a third on an overlap-2 unit
        assert mine[t3["data"]["unit_id"]].status is AnnotationStatus.INVALID
        assert "maybe" in mine[t3["data"]["unit_id"]].reason
        assert mine[t4["data"]["unit_id"]].status is AnnotationStatus.SKIPPED
        assert unit[t1["data"]["unit_id"]].text == t1["data"]["text"]
        status = run("status", c.name, "--json", home=home)
        st = json.loads(status.output)
        assert st["annotators"]["pat"]["kind"] == "person"
        assert (st["annotators"]["pat"]["extra"], st["annotators"]["pat"]["invalid"],
                st["annotators"]["pat"]["skipped"]) == (2, 1, 1)
        assert [q["annotator"] for q in st["quarantined"]] == ["pat"]
        # pat edits one answer and deletes another, as the web app does
        r = ui.patch(f"/api/annotations/{a1['id']}/", json={"result": choice("unimportant"), "lead_time": 9.0},
                     headers=csrf_headers(ui))
        assert r.status_code == 200, r.text
        r = ui.delete(f"/api/annotations/{a2['id']}/", headers=csrf_headers(ui))
        assert r.status_code == 204, r.text
    pulled = c.pull()
    assert (pulled["updated"], pulled["deleted"], pulled["new"]) == (1, 1, 0)
    assert any(n.startswith("1 annotation(s) deleted in labelstudio") and f"pat on {t2['data']['unit_id']}" in n
               for n in pulled["notes"]), pulled["notes"]
    now = {t["id"]: len(t["annotations"]) for t in project_tasks(admin, pid)}
    # only the tasks pat touched (the edited one, and maybe others of the last second) were read again
    assert pulled["received"] <= sum(now[t["id"]] for t in (t1, t2, t3, t4)) < sum(now.values())
    mine = {a.unit_id: a for a in c.annotations() if a.annotator_id == "pat"}
    assert mine[t1["data"]["unit_id"]].label == "unimportant"
    assert t2["data"]["unit_id"] not in mine
    keys = [r[0] for r in c.store.all("SELECT key FROM annotations WHERE campaign=?", c.name)]
    assert len(keys) == len(set(keys)) == sum(len(t["annotations"]) for t in project_tasks(admin, pid))


def test_bulk_deletion_is_caught_by_the_totals(tmp_path, ls_env, admin, name):
    c = open_campaign(ls_spec(tmp_path, name, ls_env), tmp_path / "home")
    c.run(until="pull")
    pid = project_id(c)
    victims = [t["id"] for t in project_tasks(admin, pid)[:3]]
    # the Data Manager's bulk action deletes without touching the tasks' updated_at
    r = admin.post("/api/dm/actions", params={"id": "delete_tasks_annotations", "project": pid},
                   json={"selectedItems": {"all": False, "included": victims}, "project": pid})
    assert r.status_code == 200, r.text
    pulled = c.pull()
    assert pulled["deleted"] == 3 * c.spec.overlap
    assert f"{3 * c.spec.overlap} annotation(s) deleted" in pulled["notes"][0]
    on_server = sum(len(t["annotations"]) for t in project_tasks(admin, pid))
    assert c.store.one("SELECT COUNT(*) FROM annotations WHERE campaign=?", c.name)[0] == on_server


def test_pull_retries_then_stops_cleanly(tmp_path, ls_env, name):
    c = open_campaign(ls_spec(tmp_path, name, ls_env), tmp_path / "home")
    c.run(until="simulate")
    exports = []

    def rule(request, n):  # the first five requests for the tasks with their annotations fail with 503
        if request.url.path.endswith("/api/tasks/") and request.url.params.get("fields") == "all":
            exports.append(n)
            return "503" if len(exports) <= 5 else None
        return None

    with_transport(c, Faults(rule))
    before = dump_store(tmp_path / "home")
    with pytest.raises(WorkbenchError, match="kept failing on listing the tasks of project"):
        c.pull()  # 3 tries (retries = 2), all 503: stop, with nothing half-written
    assert dump_store(tmp_path / "home") == before
    summary = c.pull()  # two more 503s, then the listing answers: retried with backoff, done
    assert len(exports) == 6
    assert summary["new"] == summary["total_ok"] == len(c.annotations()) > 0
