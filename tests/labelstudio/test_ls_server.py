"""The managed server: loopback only, verified port, secrets kept secret, reuse, clear failures."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from workbench.backends.labelstudio.server import Database, ManagedServer
from workbench.errors import WorkbenchError

from lsutil import run


def listening_addresses(pid: int) -> set[str]:
    """Local addresses of the process's listening TCP sockets, from /proc (LISTEN state is 0A)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:
                out.add(parts[1])
    return out


def test_server_listens_on_loopback_only_on_the_recorded_port(ls_server, ls_home):
    st = ManagedServer(ls_home).status()
    assert st["running"] and st["healthy"]
    addresses = listening_addresses(st["pid"])
    assert addresses == {f"0100007F:{st['port']:04X}"}, addresses  # 127.0.0.1, little-endian hex


def test_secrets_are_private_and_never_printed(ls_server, ls_home):
    server = ManagedServer(ls_home)
    token = server.token()
    for path in (server.token_file, server.admin_file, server.secret_key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(server.dir.stat().st_mode) == 0o700
    assert token not in server.log_file.read_text()
    assert server.admin_password() not in server.log_file.read_text()
    for args in (["server", "status"], ["server", "status", "--json"], ["server", "start"], ["server", "logs"]):
        result = run(*args, home=ls_home)
        assert result.exit_code == 0, result.output
        assert token not in result.output and server.admin_password() not in result.output
    assert "admin.json" in run("server", "status", home=ls_home).output


def test_start_reuses_the_running_server(ls_server, ls_home):
    before = ManagedServer(ls_home).status()
    result = run("server", "start", "--json", home=ls_home)
    assert result.exit_code == 0, result.output
    after = json.loads(result.output)
    assert (after["pid"], after["url"]) == (before["pid"], before["url"])
    assert "already running" in run("server", "start", home=ls_home).output


def test_stop_when_nothing_runs_says_so(tmp_path):
    result = run("server", "stop", home=tmp_path)
    assert result.exit_code == 0, result.output
    assert "was not running" in result.output
    assert "not running" in run("server", "status", home=tmp_path).output


def test_not_installed_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LABEL_STUDIO_BIN", str(tmp_path / "nowhere" / "label-studio"))
    result = run("server", "start", home=tmp_path)
    assert result.exit_code == 1
    assert "Label Studio is not installed" in result.output and "workbench[server]" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path, monkeypatch):
    fake = tmp_path / "label-studio"
    fake.write_text("#!/bin/sh\necho 'django.db.utils.OperationalError: no such table: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("WORKBENCH_LABEL_STUDIO_BIN", str(fake))
    result = run("server", "start", "--timeout", "60", home=tmp_path)
    assert result.exit_code == 1
    assert "exited with code 3" in result.output and "no such table: boom" in result.output


def test_database_dsn_is_parsed_and_masked():
    db = Database.parse("postgresql://ls:s3cret@127.0.0.1:5544/labels")
    assert db.env() == {"DJANGO_DB": "default", "POSTGRE_NAME": "labels", "POSTGRE_USER": "ls",
                        "POSTGRE_PASSWORD": "s3cret", "POSTGRE_HOST": "127.0.0.1", "POSTGRE_PORT": "5544"}
    assert "s3cret" not in db.masked and db.masked == "postgresql://ls:***@127.0.0.1:5544/labels"
    assert Database.parse(None).env() == {"DJANGO_DB": "sqlite"}
    with pytest.raises(WorkbenchError, match="expected sqlite or postgresql://"):
        Database.parse("mysql://root@localhost/x")


def test_a_relative_home_a_restart_and_a_public_url(tmp_path, monkeypatch):
    """The default home is relative (./.workbench): the data dir is absolute and where `server status`
    says; a home left by workbench 0.1 (its data nested under a relative path) is moved there; a
    restart keeps the port, so the simulated crowd's credentials and bookmarked links keep working;
    invite links use the public URL when one is set."""
    from helpers import ARTICLES, write_spec

    monkeypatch.chdir(tmp_path)
    home = Path(".wb")
    spec = write_spec(tmp_path / "spec", name="restart-c", task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra='[backend]\nname = "labelstudio"\n', overlap=2,
                      pool='[[annotators]]\nid = "ana"\npersona = "expert"\n'
                           '[[annotators]]\nid = "ben"\npersona = "careful"\n'
                           '[[annotators]]\nid = "cy"\npersona = "hasty"\n')
    server = ManagedServer(home)
    try:
        result = run("run", str(spec), home=home)
        assert result.exit_code == 0, result.output
        st = server.status()
        data = Path(st["data_dir"])
        assert data.is_absolute() and data == tmp_path / ".wb" / "labelstudio" / "data"
        assert (data / "label_studio.sqlite3").is_file()
        assert list((tmp_path / ".wb").rglob("label_studio.sqlite3")) == [data / "label_studio.sqlite3"]
        port = st["port"]

        assert run("server", "stop", home=home).exit_code == 0
        # what workbench 0.1 left: the data dir nested under the relative home, inside the server's folder
        legacy = tmp_path / ".wb" / "labelstudio" / ".wb" / "labelstudio" / "data"
        legacy.parent.mkdir(parents=True)
        data.rename(legacy)
        result = run("server", "start", "--public-url", "https://labels.example.org", home=home)
        assert result.exit_code == 0, result.output
        st = server.status()
        assert st["port"] == port and (data / "label_studio.sqlite3").is_file()  # same URL, the data moved back
        assert not (tmp_path / ".wb" / "labelstudio" / ".wb").exists()

        # the crowd signs in again with the credentials it had (a raised overlap gives it work)
        spec.write_text(spec.read_text().replace("overlap = 2", "overlap = 3"))
        result = run("run", str(spec), "--json", home=home)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["simulate"]["labels_made"] > 0

        info = json.loads(run("invite", "restart-c", "dee@example.org", "--json", home=home).stdout)
        assert info["invite_url"].startswith("https://labels.example.org/user/signup/?token=")
        assert info["project_url"].startswith("https://labels.example.org/projects/") and not info["loopback"]
        plain = run("invite", "restart-c", "dee@example.org", home=home).stdout
        assert "works on this machine only" not in plain
    finally:
        server.stop()


def test_a_new_home_starts_from_the_migrated_database_kept_by_the_first(tmp_path, monkeypatch):
    """Label Studio's migrations run once per machine: the first new home (gunicorn) keeps its migrated,
    still empty database, and the next new home (either shape) starts from a copy, with its own admin
    and token and no migration; under gunicorn the database is in WAL mode."""
    import sqlite3

    from workbench.backends.labelstudio.appserver import TEMPLATE_DIR_ENV, template_path

    monkeypatch.setenv(TEMPLATE_DIR_ENV, str(tmp_path / "templates"))
    template = template_path()
    assert template.parent == tmp_path / "templates" and not template.exists()

    def db(server: ManagedServer) -> sqlite3.Connection:
        return sqlite3.connect(server.data_dir / "label_studio.sqlite3")

    first = ManagedServer(tmp_path / "one")
    try:
        first.start(workers=1)
        assert "Initializing database" in first.logs(200)
        assert db(first).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        first.stop()
    kept = sqlite3.connect(template)
    assert kept.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 100
    assert kept.execute("SELECT count(*) FROM htx_user").fetchone()[0] == 0  # no account, no token in it
    kept.close()

    for workers, home in ((0, "two"), (1, "three")):
        server = ManagedServer(tmp_path / home)
        try:
            server.start(workers=workers)  # checks the home's own token against the server
            assert "Initializing database" not in server.logs(200)
            users = db(server).execute("SELECT email FROM htx_user").fetchall()
            assert users == [("admin@workbench.local",)]
        finally:
            server.stop()
    assert first.token() != server.token()
