"""Clear one-line errors against a real (or absent) Label Studio: wrong token, server down, project
deleted; and both kinds of API key work."""

from __future__ import annotations

import httpx

from workbench.backends.labelstudio.server import free_port

from conftest import KEY_ENV
from helpers import dump_store
from lsutil import ls_spec, open_campaign, project_id, run


def one_line_error(result, *needles):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for n in needles:
        assert n in lines[0], lines[0]


def test_wrong_token(tmp_path, ls_env, monkeypatch, name):
    monkeypatch.setenv(KEY_ENV, "0123456789abcdef0123456789abcdef01234567")
    spec = ls_spec(tmp_path, name, ls_env)
    one_line_error(run("run", str(spec), home=tmp_path / "home"), "rejected the API key in $" + KEY_ENV,
                   "wrong or expired token")


def test_missing_key_variable(tmp_path, ls_env, monkeypatch, name):
    monkeypatch.delenv(KEY_ENV)
    one_line_error(run("run", str(ls_spec(tmp_path, name, ls_env)), home=tmp_path / "home"),
                   "backend.api_key_env", f"{KEY_ENV} is not set")


def test_server_down(tmp_path, ls_env, name):
    spec = ls_spec(tmp_path, name, f"http://127.0.0.1:{free_port()}")
    home = tmp_path / "home"
    one_line_error(run("run", str(spec), home=home), "cannot reach Label Studio at http://127.0.0.1:")
    steps = [r[0] for r in dump_store(home) if r[0] == "steps"]
    assert steps  # plan and assign ran; push stopped cleanly
    st = open_campaign(spec, home).status()["steps"]
    assert st["assign"]["done"] and not st["push"]["done"]


def test_project_deleted_on_the_server(tmp_path, ls_env, admin, name):
    spec = ls_spec(tmp_path, name, ls_env)
    home = tmp_path / "home"
    c = open_campaign(spec, home)
    c.run(until="pull")
    kept = len(c.annotations())
    assert admin.delete(f"/api/projects/{project_id(c)}/").status_code == 204
    before = dump_store(home)
    one_line_error(run("pull", name, home=home), f"project {project_id(c)}", "is gone", "forget-project")
    assert dump_store(home) == before and kept > 0
    result = run("server", "forget-project", name, home=home)
    assert result.exit_code == 0, result.output
    result = run("push", name, home=home)  # a new project, every unit again
    assert result.exit_code == 0, result.output
    assert len(open_campaign(spec, home).annotations()) == kept  # nothing lost


def test_personal_access_token_works(tmp_path, ls_server, monkeypatch, name):
    url, key = ls_server
    from workbench.backends.labelstudio.accounts import browser, invite_token, log_in, session_token, sign_up
    from workbench.backends.labelstudio.client import LabelStudioAPI

    token = invite_token(LabelStudioAPI(url, key))  # the managed server signs people up by invitation only
    with browser(url) as ui:  # a user of the server with a personal access token (a JWT)
        email = f"{name}@example.org"
        assert sign_up(ui, email, "pat-Pass-9876", invite_token=token) or log_in(ui, email, "pat-Pass-9876")
        r = ui.post("/api/token/", headers={"X-CSRFToken": ui.cookies.get("csrftoken"), "Referer": url})
        assert r.status_code == 201, r.text
        pat = r.json()["token"]
        assert pat.startswith("eyJ") and session_token(ui) != pat
    monkeypatch.setenv(KEY_ENV, pat)
    spec = ls_spec(tmp_path, name, url)
    result = run("run", str(spec), "--until", "push", home=tmp_path / "home")
    assert result.exit_code == 0, result.output
    assert httpx.get(f"{url}/api/projects/", headers={"Authorization": f"Bearer {pat}"}).status_code == 401


def test_label_config_rejected_by_the_server_gives_its_reason(ls_server):
    import pytest

    from workbench.backends.labelstudio.client import LabelStudioAPI
    from workbench.errors import WorkbenchError

    url, token = ls_server
    api = LabelStudioAPI(url, token)
    config = '<View><Text name="text" value="$text"/><Choices name="label" toName="nowhere"><Choice value="a"/></Choices></View>'
    with pytest.raises(WorkbenchError) as err:
        api.post("/api/projects/", {"title": "rejected", "label_config": config}, what="creating the project")
    message = str(err.value)
    assert "refused creating the project: HTTP 400" in message and 'toName=\\"nowhere\\" not found' in message
    assert "\n" not in message and token not in message
