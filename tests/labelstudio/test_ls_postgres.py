"""The managed server on PostgreSQL, driven by a campaign whose spec names no url (the home's server)."""

from __future__ import annotations

import json

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
