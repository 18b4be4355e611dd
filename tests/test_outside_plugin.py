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


def stance_campaign() -> str:
    return re.search(r"<!-- campaign: stance -->\n```toml\n(.*?)```", DOC.read_text("utf-8"), re.S).group(1)


def test_the_doc_shows_the_package_exactly():
    files, _ = doc_blocks()
    assert set(files) == {"tests/outside_plugin/pyproject.toml", "tests/outside_plugin/workbench_topics/__init__.py"}
    for path, code in files.items():
        assert (ROOT / path).read_text("utf-8") == code, f"{path} and docs/writing-plugins.md differ"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The outside plugin and a broken one, each installed as its own distribution."""
    target = tmp_path_factory.mktemp("site")
    for package in ("outside_plugin", "broken_plugin"):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
             str(target), str(ROOT / "tests" / package)],
            check=True, capture_output=True)
    return target


def workbench(installed, *args, cwd, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(installed), **(env_extra or {})}
    env.pop("WORKBENCH_LOAD_PLUGINS", None)  # load every installed plugin, as a user's shell would
    return subprocess.run([str(WORKBENCH), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_plugin_imports_only_the_public_api():
    source = (ROOT / "tests" / "outside_plugin" / "workbench_topics" / "__init__.py").read_text("utf-8")
    imported = set(re.findall(r"^(?:from|import) (workbench[\w.]*)", source, re.M))
    assert imported == {"workbench.api"}
    for builtin in ("text", "claims", "sentiment"):  # the built-in plugins too
        source = (ROOT / "plugins" / builtin / f"workbench_{builtin}" / "__init__.py").read_text("utf-8")
        assert set(re.findall(r"^(?:from|import) (workbench[\w.]*)", source, re.M)) == {"workbench.api"}, builtin


def test_outside_plugin_is_listed(installed, tmp_path):
    out = workbench(installed, "plugins", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert plugins["topics"]["provides"] == {"task_types": ["stance", "topics"]}
    assert plugins["topics"]["version"] == "1.0.0" and plugins["topics"]["errors"] == []


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


def test_task_options_from_the_campaign_reach_the_plugin(installed, tmp_path):
    (tmp_path / "tasks").symlink_to(ROOT / "tasks")
    spec = tmp_path / "stance.toml"
    spec.write_text(stance_campaign())
    out = workbench(installed, "--home", str(tmp_path / "home"), "run", "stance.toml", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    records = [json.loads(line) for line in open(result["export"]["files"][0])]
    # only the sentences that name the subject (or an alias) became units
    assert 5 < len(records) == result["plan"]["units"] < 100
    assert all("scale" in r["text"].lower() for r in records)
    assert {r["label"] for r in records} <= {"favor", "against", "neutral"}
    card = (Path(result["export"]["card"])).read_text("utf-8")
    assert "What stance does this sentence take toward Scale AI?" in card
    assert '`subject` = `"Scale AI"`' in card
    # a missing or mistyped option is one line naming it, before anything runs
    spec.write_text(stance_campaign().replace('subject = "Scale AI"\n', ""))
    out = workbench(installed, "--home", str(tmp_path / "home2"), "run", "stance.toml", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.strip().count("\n") == 0, out.stderr
    assert "stance.toml: task.subject: task type 'stance' needs it" in out.stderr
    spec.write_text(stance_campaign().replace('aliases = ["Scale"]', "aliases = 3"))
    out = workbench(installed, "--home", str(tmp_path / "home2"), "run", "stance.toml", cwd=tmp_path)
    assert out.returncode == 1 and "task.aliases: expected a list of strings, got 3" in out.stderr
    assert not (tmp_path / "home2" / "workbench.db").exists()
    # the options are the campaign's identity: another subject is another campaign
    spec.write_text(stance_campaign().replace('"Scale AI"', '"Meta"'))
    out = workbench(installed, "--home", str(tmp_path / "home"), "run", "stance.toml", cwd=tmp_path)
    assert out.returncode == 1 and "task: changed after campaign 'stance-demo' handed out work" in out.stderr


def test_a_plugin_that_fails_at_import_is_named_and_the_rest_works(installed, tmp_path):
    named = ("plugin 'broken' (workbench-broken 0.3.0, entry point broken = workbench_broken) failed in import: "
             "RuntimeError: boom at import")
    out = workbench(installed, "plugins", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert plugins["broken"]["errors"] == [named] and plugins["broken"]["version"] == "0.3.0"
    assert plugins["topics"]["errors"] == []
    listing = workbench(installed, "plugins", cwd=tmp_path)
    assert named in listing.stdout
    # campaigns that do not need it run; one that names what it would have registered says why not
    (tmp_path / "tasks").symlink_to(ROOT / "tasks")
    _, campaign = doc_blocks()
    (tmp_path / "topics.toml").write_text(campaign.replace("tasks/articles/*.txt", "tasks/articles/000_*.txt"))
    out = workbench(installed, "--home", str(tmp_path / "home"), "-q", "run", "topics.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (tmp_path / "b.toml").write_text(campaign.replace('task_type = "topics"', 'task_type = "brokentype"'))
    out = workbench(installed, "--home", str(tmp_path / "home"), "run", "b.toml", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "unknown task type 'brokentype'" in out.stderr and named in out.stderr
    traced = workbench(installed, "--home", str(tmp_path / "home"), "plugins", cwd=tmp_path,
                       env_extra={"WORKBENCH_TRACE_PLUGINS": "1"})
    assert 'raise RuntimeError("boom at import")' in traced.stderr  # the full traceback, when asked for
