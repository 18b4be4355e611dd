"""The managed server on PostgreSQL, driven by a campaign whose spec names no url (the home's server)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from workbench.backends.labelstudio.accounts import browser, log_in
from workbench.backends.labelstudio.server import ManagedServer

from helpers import ARTICLES, write_spec
from lsutil import run

POOL = '[[annotators]]\nid = "ana"\npersona = "expert"\n[[annotators]]\nid = "sam"\npersona = "spammer"\n'


def test_managed_server_on_postgresql(tmp_path, postgres_dsn):
    home = tmp_path / "home"
    started = run("server", "start", "--database", postgres_dsn, "--json", home=home)
    try:
        assert started.exit_code == 0, started.output
        info = json.loads(started.output)
        assert info["database"].startswith("postgresql://") and info["running"]
        assert "POSTGRE" not in ManagedServer(home).logs(400)  # settings are passed, never printed
        spec = write_spec(tmp_path, name="pg", task_type="sentiment", documents=str(ARTICLES / "000_*.txt"),
                          extra='[backend]\nname = "labelstudio"\n', pool=POOL, overlap=1)
        result = run("run", str(spec), "--until", "pull", "--json", home=home)
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["pull"]["total_ok"] == out["plan"]["units"] > 20
        assert out["push"]["url"].startswith(info["url"])
        # the database is fixed at first start
        other = run("server", "start", "--database", "sqlite", home=home)
        assert other.exit_code == 1 and "already uses postgresql://" in other.output
    finally:
        stopped = run("server", "stop", home=home)
    assert stopped.exit_code == 0 and "stopped" in stopped.output


def _group(pgid: int) -> list[int]:
    """The pids of process group ``pgid`` (the server and its workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_team_server_gunicorn_workers_on_postgresql(tmp_path, postgres_dsn):
    """`server start --workers 2`: Label Studio under gunicorn, a master and two workers in one process
    group, serving the UI's static files and a campaign through to pull; `server stop` ends them all."""
    home = tmp_path / "home"
    started = run("server", "start", "--database", postgres_dsn, "--workers", "2", "--json", home=home)
    pgid = None
    try:
        assert started.exit_code == 0, started.output
        info = json.loads(started.output)
        pgid = info["pid"]
        assert info["running"] and info["healthy"] and info["workers"] == 2
        assert info["app_server"] == "gunicorn, 2 workers" and info["database"].startswith("postgresql://")
        assert len(_group(pgid)) == 3  # the master and its two workers
        server = ManagedServer(home)
        log = server.logs(400)
        assert "Listening at: http://127.0.0.1:" in log and "Booting worker" in log
        assert "POSTGRE" not in log and server.token() not in log and server.admin_password() not in log
        # the UI: the login page and, logged in, the projects page, and the scripts and styles they
        # name, served from Label Studio's /static/ by the workers
        assets = []
        with browser(info["url"]) as session:
            for path in ("/user/login/", "/projects/"):
                page = session.get(path)
                assert page.status_code == 200, (path, page.status_code)
                assets += re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))', page.text)
                if path == "/user/login/":
                    assert log_in(session, info["admin"], server.admin_password())
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
        for asset in assets:
            r = httpx.get(f"{info['url']}{asset}", timeout=60)
            assert r.status_code == 200 and len(r.content) > 0, (asset, r.status_code)
        # a campaign through to pull, against the workers
        spec = write_spec(tmp_path, name="team", task_type="sentiment", documents=str(ARTICLES / "000_*.txt"),
                          extra='[backend]\nname = "labelstudio"\n', pool=POOL, overlap=2)
        result = run("run", str(spec), "--until", "pull", "--json", home=home)
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["pull"]["total_ok"] == 2 * out["plan"]["units"] > 40
        # the shape is fixed while it runs, and kept for the next start
        again = run("server", "start", "--workers", "3", home=home)
        assert again.exit_code == 1 and "already running with --workers 2" in again.output
        status = run("server", "status", home=home)
        assert "gunicorn, 2 workers; database: postgresql://" in status.output
    finally:
        stopped = run("server", "stop", home=home)
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    assert pgid is not None and _group(pgid) == []
    assert json.loads((home / "labelstudio" / "server.json").read_text())["workers"] == 2
