"""The simulated crowd keeps to the plan on a real Label Studio (issue 14): personas working at the
same time (``workers``) give every unit exactly its planned number of answers, by distinct users,
none lost and none extra; and a ``simulate`` killed half way and run again ends with exactly the
planned answers (the killed run's answers are not redone, nothing is missing)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from helpers import pool
from lsutil import ls_spec, open_campaign, project_id, project_tasks, run

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("chloe", "careful"), ("dev", "hasty"), ("eli", "expert"),
             ("fay", "careful"))


def exact(c, admin) -> None:
    """Every task on the server has its planned number of answers by as many distinct users, the store
    has them all (no extra, none missing), and status warns of nothing."""
    planned = Counter(a.unit for a in c.state.assignments if a.planned)
    tasks = {t["data"]["unit_id"]: t for t in project_tasks(admin, project_id(c))}
    assert set(tasks) == set(planned)
    for unit, t in tasks.items():
        users = [a["completed_by"] for a in t["annotations"]]
        assert len(users) == len(set(users)) == planned[unit] == t["overlap"], (unit, users, t["overlap"])
    statuses = Counter(a.status.value for a in c.annotations())
    assert statuses == {"ok": sum(planned.values())}, statuses
    cov = c.status()["coverage"]
    assert (cov["units_over"], cov["units_short_crowd"], cov["units_short_people"]) == (0, 0, 0), cov


def test_workers_give_every_unit_exactly_its_overlap(tmp_path, ls_env, admin, name):
    home = tmp_path / "home"
    spec = ls_spec(tmp_path, name, ls_env, overlap=3, pool=CROWD, extra_backend="workers = 8\n")
    result = run("run", str(spec), home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    exact(c, admin)
    # a second simulate finds nothing left to do: nothing more on the server
    result = run("simulate", name, "--json", home=home)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels_made"] == 0
    assert run("pull", name, home=home).exit_code == 0
    exact(open_campaign(spec, home), admin)


def test_a_killed_simulate_resumes_with_exactly_the_planned_answers(tmp_path, ls_env, admin, name):
    home = tmp_path / "home"
    spec = ls_spec(tmp_path, name, ls_env, overlap=3, pool=CROWD)
    result = run("run", str(spec), "--until", "push", home=home)
    assert result.exit_code == 0, result.output
    c = open_campaign(spec, home)
    pid = project_id(c)
    total = sum(1 for a in c.state.assignments if a.planned)

    def on_server() -> int:
        return sum(len(t["annotations"]) for t in project_tasks(admin, pid))

    # simulate in a process of its own, killed outright (SIGKILL: no cleanup) after some answers
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--home", str(home), "--quiet", "simulate", name],
                            env={**os.environ, "WORKBENCH_PROGRESS": "none"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        while proc.poll() is None and on_server() < 15:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read() if proc.stdout else ""
    killed_at = on_server()
    assert 15 <= killed_at < total

    # pulled as it is: status says units are below their plan, and how to fill them
    assert run("pull", name, home=home).exit_code == 0
    result = run("status", name, home=home)
    assert result.exit_code == 0, result.output
    assert "unit(s) are below their plan" in result.output and f"workbench simulate {name}" in result.output
    assert "more answers than their plan" not in result.output

    # run again: exactly what was missing
    result = run("simulate", name, "--json", home=home)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels_made"] == total - killed_at
    assert run("pull", name, home=home).exit_code == 0
    c = open_campaign(spec, home)
    exact(c, admin)
    result = run("status", name, home=home)
    assert "below their plan" not in result.output and "more answers than their plan" not in result.output
