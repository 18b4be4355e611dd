"""An outside plugin, installed as its own distribution, runs a whole campaign without core changes.

The package is tests/outside_plugin (shown verbatim in docs/writing-plugins.md). It is installed
into a temporary folder and found through the `workbench` entry-point group, in a separate process
running the real `workbench` command.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-plugins.md"
WORKBENCH = Path(sys.executable).with_name("workbench")


def doc_blocks():
    text = DOC.read_text("utf-8")
    files = dict(re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", text, re.S))
    campaign = re.search(r"<!-- campaign -->\n```toml\n(.*?)```", text, re.S).group(1)
    return files, campaign


def test_the_doc_shows_the_package_exactly():
    files, _ = doc_blocks()
    assert set(files) == {"tests/outside_plugin/pyproject.toml", "tests/outside_plugin/workbench_topics/__init__.py"}
    for path, code in files.items():
        assert (ROOT / path).read_text("utf-8") == code, f"{path} and docs/writing-plugins.md differ"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
         str(target), str(ROOT / "tests" / "outside_plugin")],
        check=True, capture_output=True)
    return target


def workbench(installed, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    env.pop("WORKBENCH_LOAD_PLUGINS", None)  # load every installed plugin, as a user's shell would
    return subprocess.run([str(WORKBENCH), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_outside_plugin_is_listed(installed, tmp_path):
    out = workbench(installed, "plugins", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert plugins["topics"]["provides"] == {"task_types": ["topics"]}
    assert plugins["topics"]["version"] == "1.0.0"


def test_outside_plugin_runs_the_documented_campaign(installed, tmp_path):
    _, campaign = doc_blocks()
    (tmp_path / "tasks").symlink_to(ROOT / "tasks")
    (tmp_path / "topics.toml").write_text(campaign)
    out = workbench(installed, "--home", str(tmp_path / "home"), "run", "topics.toml", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["plan"]["units"] > 100
    assert result["pull"]["total_ok"] == 2 * result["plan"]["units"]
    assert result["aggregate"]["units"] == result["plan"]["units"]
    records = [json.loads(line) for line in open(result["export"]["files"][0])]
    assert all(set(r["label"]) <= {"money", "people", "technology"} for r in records)
    assert any(len(r["label"]) > 1 for r in records)  # multi-choice labels survive the round trip
    assert {r["plugin"] for r in records} == {"topics"} and records[0]["plugin_version"] == "1.0.0"
