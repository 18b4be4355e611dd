"""People on Label Studio, through its API as the web app uses it: an invitee told what waits for
them, someone outside the pool listed with why their labels do not count until accepted, sign-up
by invitation only, export files removed after a pull, and a stopped server reported at once."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from workbench.backends.labelstudio.accounts import browser, sign_up
from workbench.errors import WorkbenchError

from helpers import ARTICLES, write_spec
from lsutil import open_campaign, project_id, project_tasks, run

CROWD = '[[annotators]]\nid = "ana"\npersona = "expert"\n[[annotators]]\nid = "ben"\npersona = "careful"\n'


def managed_spec(folder, name: str, pool: str = CROWD):
    """A campaign on the home's managed server (the session's), so invitations are the managed kind."""
    return write_spec(folder, name=name, task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra='[backend]\nname = "labelstudio"\n', pool=pool, overlap=2)


def csrf(ui: httpx.Client) -> dict:
    return {"X-CSRFToken": ui.cookies.get("csrftoken", ""), "Referer": str(ui.base_url)}


def answer(ui: httpx.Client, pid: int, task: dict, value: str) -> None:
    body = {"lead_time": 3.0, "draft_id": 0, "parent_prediction": None, "parent_annotation": None,
            "started_at": datetime.now(timezone.utc).isoformat(), "project": str(pid),
            "result": [{"value": {"choices": [value]}, "id": "r1", "from_name": "claim", "to_name": "text",
                        "type": "choices", "origin": "manual"}]}
    r = ui.post(f"/api/tasks/{task['id']}/annotations/", params={"project": pid}, json=body, headers=csrf(ui))
    assert r.status_code == 201, r.text


def test_the_crowd_leaves_a_persons_places_to_them(tmp_path, ls_home, admin, name):
    """Label Studio does not know whose place a task has room for: the crowd must not take the
    person's places on some tasks and leave others empty. Every unit gets its crowd labels, every
    task is back at its planned overlap, and exactly the person's units wait for them."""
    email = f"pia-{name}@example.org"
    pool = CROWD + '[[annotators]]\nid = "cy"\npersona = "careful"\n' \
        f'[[annotators]]\nid = "pia"\nemail = "{email}"\n'
    spec = managed_spec(tmp_path, name, pool)
    result = run("run", str(spec), home=ls_home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, ls_home)
    theirs = {u.id for u in c.state.queues["pia"]}
    assert 0 < len(theirs) < len(c.units())
    tasks = project_tasks(admin, project_id(c))
    for t in tasks:
        unit = t["data"]["unit_id"]
        assert t["overlap"] == 2, unit  # the plan's number: the crowd never lowers it
        assert len(t["annotations"]) == (1 if unit in theirs else 2), unit
    info = json.loads(run("invite", name, email, "--json", home=ls_home).stdout)
    assert info["waiting"] == len(theirs)
    assert len(c.annotations()) == 2 * len(c.units()) - len(theirs)  # nothing empty, nothing extra


def test_invite_says_what_waits_and_warns_when_nothing_does(tmp_path, ls_home, name):
    spec = managed_spec(tmp_path, name)
    assert run("run", str(spec), home=ls_home).exit_code == 0
    email = f"nia-{name}@example.org"
    result = run("invite", name, email, home=ls_home)
    assert result.exit_code == 0, result.output
    out = result.stdout
    # every place is taken by the crowd: said plainly, with the command that makes room
    assert f"warning: nothing waits for {email}: every task has all its annotators" in out
    assert f"`workbench annotators add {name} {email}` gives them a share" in out
    assert f"note: {email} is not in the campaign's pool: their labels are kept but not counted" in out
    assert "the link works on this machine only" in out and "--public-url" in out
    assert "labeling stream" in out and "/data?labeling=1" in out

    added = run("annotators", "add", name, email, "--json", home=ls_home)
    assert added.exit_code == 0, added.output
    planned = json.loads(added.stdout)["planned"]
    info = json.loads(run("invite", name, email, "--json", home=ls_home).stdout)
    assert info["in_pool"] and info["waiting"] == planned > 0
    plain = run("invite", name, email, home=ls_home).stdout
    assert f"{planned} task(s) wait for them there" in plain and "warning" not in plain
    assert "[[annotators]]" in spec.read_text() and f'email = "{email}"' in spec.read_text()


def test_someone_outside_the_pool_is_listed_then_accepted(tmp_path, ls_home, ls_server, admin, name):
    spec = managed_spec(tmp_path, name)
    assert run("run", str(spec), home=ls_home).exit_code == 0
    c = open_campaign(spec, ls_home)
    pid = project_id(c)
    email = f"zed-{name}@example.org"
    info = json.loads(run("invite", name, email, "--json", home=ls_home).stdout)
    token = parse_qs(urlsplit(info["invite_url"]).query)["token"][0]
    tasks = project_tasks(admin, pid)[:2]
    with browser(ls_server[0]) as ui:
        assert sign_up(ui, email, "zed-Long-pass-77", invite_token=token)
        for t in tasks:
            answer(ui, pid, t, "check-worthy")
    pulled = json.loads(run("pull", name, "--json", home=ls_home).stdout)
    assert pulled["not_in_pool"] == 2

    status = run("status", name, home=ls_home).stdout
    assert "not in pool" in status and f"workbench annotators accept {name}" in status
    st = json.loads(run("status", name, "--json", home=ls_home).stdout)
    assert st["annotators"][email]["not_in_pool"] == 2 and st["annotators"][email]["ok"] == 0
    rows = {r["annotator"]: r for r in json.loads(run("annotators", name, "--json", home=ls_home).stdout)}
    assert rows[email]["n_annotations"] == 0
    assert rows[email]["flags"] == [f"kept, not counted: 2 (not in the pool) (`workbench annotators accept "
                                    f"{name} {email}` counts them)"]
    out = json.loads(run("export", name, "--json", home=ls_home).stdout)
    card = open(out["card"], encoding="utf-8").read()
    assert "| 2 (not in the pool) |" in card and "labels counted" in card
    html = open(json.loads(run("report", name, "--json", home=ls_home).stdout)["path"], encoding="utf-8").read()
    assert "kept, not counted: 2 (not in the pool)" in html

    accepted = run("annotators", "accept", name, email, home=ls_home)
    assert accepted.exit_code == 0, accepted.output
    c = open_campaign(spec, ls_home)
    theirs = [a for a in c.annotations() if a.annotator_id == email]
    assert len(theirs) == 2 and {a.status.value for a in theirs} == {"ok"}  # their labels count now
    assert sum(1 for a in c.state.assignments if a.annotator == email and a.planned) >= 2
    rows = {r["annotator"]: r for r in json.loads(run("annotators", name, "--json", home=ls_home).stdout)}
    assert rows[email]["n_annotations"] == 2
    assert not any("not counted" in f for f in rows[email]["flags"])  # two same answers may still look spammy


def test_sign_up_needs_the_invitation(ls_server):
    url, key = ls_server
    from workbench.backends.labelstudio.accounts import invite_token
    from workbench.backends.labelstudio.client import LabelStudioAPI

    with browser(url) as ui:  # the sign-up form without the organization's token: refused
        assert not sign_up(ui, "walk-in@example.org", "walk-In-pass-31")
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {key}"}) as admin:
        emails = {u["email"] for u in admin.get("/api/users/", params={"page_size": 10_000}).json()}
    assert "walk-in@example.org" not in emails
    with browser(url) as ui:
        assert sign_up(ui, "walk-in@example.org", "walk-In-pass-31",
                       invite_token=invite_token(LabelStudioAPI(url, key)))


def test_a_full_pull_leaves_no_export_on_the_server(tmp_path, ls_home, admin, name):
    spec = managed_spec(tmp_path, name)
    assert run("run", str(spec), "--until", "simulate", home=ls_home).exit_code == 0
    pid = project_id(open_campaign(spec, ls_home))
    assert run("pull", name, home=ls_home).exit_code == 0  # the first pull: a full export
    assert admin.get(f"/api/projects/{pid}/exports/").json() == []
    exports = ls_home / "labelstudio" / "data" / "export"
    assert not list(exports.glob(f"project-{pid}-at-*")) if exports.is_dir() else True


def test_a_stopped_server_is_reported_after_two_retries(tmp_path):
    from workbench.backends.labelstudio.client import CONNECT_RETRIES, LabelStudioAPI
    from workbench.backends.labelstudio.server import free_port

    tries = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request):
            tries.append(request.url.path)
            return super().handle_request(request)

    api = LabelStudioAPI(f"http://127.0.0.1:{free_port()}", "key", transport=Counting(), backoff=0.01)
    with pytest.raises(WorkbenchError, match="cannot reach Label Studio at .*; is it running"):
        api.get("/api/projects/", what="listing projects")
    assert len(tries) == 1 + CONNECT_RETRIES  # not the five retries (16-18 s) a busy server gets
