"""One process at a time per campaign (issue 9): two `workbench run` of one campaign used to crash with
sqlite3.IntegrityError tracebacks; now the second says who holds the campaign, or waits (--wait), and
the lock of a killed process is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.store import Store

from helpers import ROOT, write_spec

HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from workbench.lock import CampaignLock
with CampaignLock({home!r}, "c1"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def holder(home, seconds: float) -> subprocess.Popen:
    """Another process that takes campaign c1's lock and keeps it ``seconds``."""
    p = subprocess.Popen([sys.executable, "-c", HOLD.format(root=str(ROOT), home=str(home)), str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def test_a_busy_campaign_names_who_holds_it(tmp_path, home):
    spec = write_spec(tmp_path)
    p = holder(home, 60)
    try:
        result = run(home, "run", str(spec))
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert f"campaign 'c1' is busy: process {p.pid}" in lines[0] and "--wait" in lines[0], lines[0]
        assert not (home / "workbench.db").exists() or not Store(home).all("SELECT * FROM campaigns")
        assert run(home, "--quiet", "status", "c1").exit_code == 1  # reading takes no lock (and c1 is unknown)
    finally:
        p.kill()
        p.wait()


def test_wait_waits_for_the_holder(tmp_path, home):
    spec = write_spec(tmp_path)
    p = holder(home, 2)
    started = time.monotonic()
    result = run(home, "--wait", "run", str(spec))
    p.wait()
    assert result.exit_code == 0, result.output
    assert f"waiting for process {p.pid}" in result.output
    assert time.monotonic() - started >= 1  # it did wait (no bound on how long: the machine is shared)


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, home):
    spec = write_spec(tmp_path)
    p = holder(home, 60)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    assert f"took over the lock of process {p.pid}" in result.output
    assert json.loads((home / "locks" / "c1.lock").read_text())["state"] == "free"


def test_two_runs_at_once(tmp_path, home):
    """Real processes, started together: no traceback, and the store ends as one run leaves it."""
    spec = write_spec(tmp_path)
    env = {**os.environ, "WORKBENCH_LOAD_PLUGINS": os.environ["WORKBENCH_LOAD_PLUGINS"]}

    def start(*extra):
        return subprocess.Popen([sys.executable, "-m", "workbench", "--home", str(home), "-q", *extra, "run",
                                 str(spec)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    for extra in ((), ("--wait",)):
        procs = [start(*extra), start(*extra)]
        outs = [p.communicate(timeout=600)[0] for p in procs]
        for p, out in zip(procs, outs):
            assert "Traceback" not in out and "IntegrityError" not in out, out
            if p.returncode != 0:
                assert not extra and out.strip().splitlines()[-1].startswith("Error: campaign 'c1' is busy"), out
        if extra:
            assert [p.returncode for p in procs] == [0, 0], outs
    c = Campaign.open("c1", Store(home))
    assert set(Counter(a.unit_id for a in c.annotations()).values()) == {3}
    assert len(c.status()["rounds"]) == 1 and len(c.status()["versions"]) == 1
