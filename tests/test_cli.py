"""The command line, as a user drives it."""

import json
import re

from click.testing import CliRunner

from workbench.cli import cli

from helpers import ARTICLES, write_spec


def run(*args, home=None):
    base = ["--home", str(home)] if home else []
    return CliRunner().invoke(cli(), [*base, *args])


def test_help_on_every_command():
    main = cli()
    for name in main.commands:
        result = run(name, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.output and f" {name} " in result.output


def test_init_scaffolds_a_runnable_campaign(tmp_path, home):
    result = run("init", "mine", "--task-type", "claims", "--documents", str(ARTICLES / "004_*.txt"),
                 "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    spec = tmp_path / "mine.toml"
    assert spec.exists()
    again = run("init", "mine", "--dir", str(tmp_path))
    assert again.exit_code == 1 and "already exists" in again.output
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["plan"]["units"] == data["aggregate"]["units"] > 20


def test_steps_one_by_one_then_status_by_name(tmp_path, home):
    spec = str(write_spec(tmp_path, name="steps"))
    for step in ("plan", "assign", "push", "simulate", "pull", "aggregate", "agreement", "export"):
        result = run(step, spec, home=home)
        assert result.exit_code == 0, (step, result.output)
        assert result.output.startswith(f"{step}:" if step != "export" else "export:")
    status = run("status", "steps", "--json", home=home)
    assert status.exit_code == 0, status.output
    st = json.loads(status.output)
    assert all(s["done"] for s in st["steps"].values())
    assert st["annotators"]["ana"]["ok"] == st["annotators"]["ana"]["assigned"] > 0
    table = run("status", "steps", home=home)
    assert table.exit_code == 0 and "ana" in table.output and "expert" in table.output
    header = next(line for line in table.output.splitlines() if "assigned" in line)
    assert re.search(r"assigned\W+ok\W+skipped\W+invalid\W+extra\W+not in pool", header)  # ok, as in --json


def test_one_person_one_document_in_the_card(tmp_path, home):
    """The card's counts agree in number: "1 person", "1 document" (not "1 people", "1 documents")."""
    spec = write_spec(tmp_path, name="one", documents=str(ARTICLES / "000_*.txt"),
                      pool='[[annotators]]\nid = "ana"\npersona = "expert"\n[[annotators]]\nid = "ben"\n'
                           'persona = "careful"\n[[annotators]]\nemail = "pat@example.org"\n', overlap=2)
    result = run("run", str(spec), "--json", home=home)
    assert result.exit_code == 0, result.output
    card = (home / "exports" / "one" / "README.md").read_text("utf-8")
    assert "from 1 document," in card and "(2 simulated and 1 person)" in card, card[:600]
    assert "1 documents" not in card and "1 people" not in card


def test_run_prints_the_campaign_report(tmp_path, home):
    result = run("run", str(write_spec(tmp_path, name="report")), home=home)
    assert result.exit_code == 0, result.output
    for needle in ("== report (sentiment", "units:", "annotations:", "agreement:", "gold accuracy", "exported:"):
        assert needle in result.output, needle


def test_export_options_override_the_spec(tmp_path, home):
    spec = str(write_spec(tmp_path, name="exp"))
    assert run("run", spec, home=home).exit_code == 0
    out = tmp_path / "out"
    result = run("export", "exp", "--format", "csv", "--out", str(out), "--min-confidence", "0.99", "--json",
                 home=home)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["files"] == [str(out / "exp.csv")]
    lines = (out / "exp.csv").read_text().splitlines()
    assert 1 < len(lines) and data["records"] == len(lines) - 1
    nothing = run("export", "exp", "--min-confidence", "1.01", "--out", str(tmp_path / "none"), home=home)
    assert nothing.exit_code == 1 and "--min-confidence: expected a number from 0 to 1" in nothing.output
    assert not any((tmp_path / "none").glob("*.jsonl"))


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "envhome"))
    result = CliRunner().invoke(cli(), ["run", str(write_spec(tmp_path, name="env"))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "envhome" / "workbench.db").exists()
