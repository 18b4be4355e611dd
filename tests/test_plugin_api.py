"""The plugin API v2 (issue 10): task options, plugins that fail loudly and by name, pre-labels checked at
plan time, the label schema pinned per campaign, empty multi-choice answers, commands from plugins,
`workbench units`."""

from __future__ import annotations

import json
import types
from dataclasses import replace

import pytest
from click.testing import CliRunner

from workbench.api import (
    REQUIRED,
    LabelKind,
    LabelSchema,
    PreLabel,
    Span,
    TaskOption,
    TaskOptionError,
    TaskType,
    hookimpl,
)
from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.spec import load_spec
from workbench.store import Store

from helpers import ARTICLES, dump_store, write_spec


def plugin(name, **hooks):
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def one_line(result, *needles):
    assert result.exit_code == 1, result.output
    lines = [x for x in result.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# -- task options ------------------------------------------------------------------------------

class Graded(TaskType):
    name = "graded"
    schema = LabelSchema(LabelKind.SINGLE, ("yes", "no"))
    options = {"subject": TaskOption(str, description="what it is about"),
               "strict": TaskOption(bool, default=False),
               "level": TaskOption(int, default=1, choices=(1, 2, 3)),
               "weight": TaskOption(float, default=0.5),
               "tags": TaskOption(list, default=[])}


def test_task_options_are_checked_and_defaulted():
    tt = Graded().configure({"subject": "Meta", "weight": 2})
    assert dict(tt.settings) == {"subject": "Meta", "strict": False, "level": 1, "weight": 2.0, "tags": []}
    assert tt.option("subject") == "Meta" and Graded().settings == {}  # the registered one is untouched
    for values, message in [
        ({}, "subject: task type 'graded' needs it (what it is about)"),
        ({"subject": "x", "colour": 1}, "colour: unknown option of task type 'graded' (known: level, strict, "
                                        "subject, tags, weight)"),
        ({"subject": 3}, "subject: expected a string, got 3"),
        ({"subject": "x", "strict": "yes"}, "strict: expected true or false, got 'yes'"),
        ({"subject": "x", "level": True}, "level: expected a whole number, got True"),
        ({"subject": "x", "level": 4}, "level: 4 is not one of [1, 2, 3]"),
        ({"subject": "x", "tags": ["a", 1]}, "tags: expected a list of strings, got ['a', 1]"),
    ]:
        with pytest.raises(TaskOptionError) as err:
            Graded().configure(values)
        assert str(err.value) == message
    assert TaskOption(str).default is REQUIRED


def test_task_options_in_a_campaign_file(tmp_path, home, with_plugin):
    with_plugin(plugin("graded_plugin", register_task_types=lambda register: register(Graded())))
    spec = write_spec(tmp_path, task_type="graded", extra='[task]\nsubject = "Meta"\nlevel = 5')
    one_line(run(home, "run", str(spec)), str(spec), "task.level: 5 is not one of [1, 2, 3]")
    spec = write_spec(tmp_path, task_type="graded")
    one_line(run(home, "run", str(spec)), "task.subject: task type 'graded' needs it")
    assert not (home / "workbench.db").exists()
    spec = write_spec(tmp_path, task_type="graded", extra='[task]\nsubject = "Meta"')
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    card = (home / "exports" / "c1" / "README.md").read_text()
    assert "Task options" in card and '`subject` = `"Meta"`' in card and "`level` = `1`" in card


# -- plugins that fail, by name ------------------------------------------------------------------

class Crashing(TaskType):
    name = "crashing"
    schema = LabelSchema(LabelKind.SINGLE, ("yes", "no"))

    def units(self, document):
        if document.id.startswith("001"):
            raise KeyError("paragraphs")
        return super().units(document)


def test_an_exception_in_a_plugins_code_names_the_plugin_and_the_document(tmp_path, home, with_plugin):
    with_plugin(plugin("crashy", register_task_types=lambda register: register(Crashing())))
    spec = write_spec(tmp_path, task_type="crashing")
    one_line(run(home, "run", str(spec)), "plugin 'crashy'", "task type 'crashing'",
             "units() on document 001_3ef3c70d8d5d675c failed: KeyError: 'paragraphs'")
    traced = run(home, "--traceback", "run", str(spec))
    assert traced.exit_code == 1 and "Traceback (most recent call last)" in traced.output
    assert 'raise KeyError("paragraphs")' in traced.output
    assert traced.output.strip().splitlines()[-1].startswith("Error: plugin 'crashy'")


class BadGuess(TaskType):
    name = "badguess"
    schema = LabelSchema(LabelKind.SPANS, ("ORG",))

    def prelabel(self, unit):
        return PreLabel((Span(0, len(unit.text) + 5, "ORG"),), 0.5)  # past the end of the text


def test_invalid_pre_labels_stop_the_plan_naming_plugin_and_unit(tmp_path, home, with_plugin):
    """They used to be stored, and crash `push` later with a raw LabelError."""
    with_plugin(plugin("guesser", register_task_types=lambda register: register(BadGuess())))
    assert run(home, "run", str(write_spec(tmp_path / "ok", name="other"))).exit_code == 0
    before = dump_store(home)
    spec = write_spec(tmp_path, task_type="badguess")
    one_line(run(home, "run", str(spec)), "plugin 'guesser'", "prelabel() on unit badguess-",
             "gave a label that does not fit the schema", "past the unit's text")
    assert dump_store(home) == before


class LateCrash(TaskType):
    """Units that say they are gold (the plan clears that without gold), a pre-labeler that fails on
    the first document and units() that fail on the second."""

    name = "latecrash"
    schema = LabelSchema(LabelKind.SINGLE, ("yes", "no"))
    seen: list = []

    def units(self, document):
        if document.id.startswith("001"):
            raise KeyError("paragraphs")
        return [replace(u, is_gold=True) for u in super().units(document)]

    def prelabel(self, unit):
        LateCrash.seen.append(unit.is_gold)
        if len(LateCrash.seen) == 3:
            raise ValueError("third unit")
        return None


def test_units_are_cut_before_a_pre_labeling_failure_is_told(tmp_path, home, with_plugin):
    """Without gold the plan pre-labels each document as it is cut; the failure it reports is still the
    one cutting all the documents first would: units() on the second document."""
    with_plugin(plugin("late", register_task_types=lambda register: register(LateCrash())))
    LateCrash.seen = []
    one_line(run(home, "run", str(write_spec(tmp_path, task_type="latecrash"))), "plugin 'late'",
             "units() on document 001_3ef3c70d8d5d675c failed: KeyError: 'paragraphs'")
    assert LateCrash.seen == [False, False, False]  # the units as mark_gold leaves them; none after the failure
    LateCrash.units = TaskType.units  # type: ignore[method-assign]
    try:
        LateCrash.seen = []
        one_line(run(home, "run", str(write_spec(tmp_path / "b", name="b", task_type="latecrash"))), "plugin 'late'",
                 "prelabel() on unit latecrash-", "failed: ValueError: third unit")
    finally:
        del LateCrash.units
    assert LateCrash.seen == [False, False, False]


def test_a_hook_that_raises_leaves_the_plugin_out_and_the_rest_working(tmp_path, home, with_plugin):
    def boom(register):
        raise RuntimeError("no config file")

    with_plugin(plugin("fragile", register_task_types=boom))
    result = run(home, "run", str(write_spec(tmp_path)))  # a sentiment campaign does not need it
    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(run(home, "plugins", "--json").output)}
    assert listed["fragile"]["errors"] == ["plugin 'fragile' failed in register_task_types: RuntimeError: no config "
                                           "file"]


def test_a_task_type_name_clash_does_not_blame_the_campaign_file(tmp_path, home, with_plugin):
    one = plugin("one", register_task_types=lambda register: register(Graded()))
    two = plugin("two", register_task_types=lambda register: register(Graded()))
    from workbench import registry as registry_mod

    registry_mod.reset_registry(registry_mod.make_registry(extra_plugins=[one, two]))
    spec = write_spec(tmp_path, task_type="graded", extra='[task]\nsubject = "x"')
    line = one_line(run(home, "run", str(spec)), "task type 'graded' is registered by two plugins, 'one' and 'two'")
    assert str(spec) not in line
    assert run(home, "run", str(write_spec(tmp_path / "s", name="s"))).exit_code == 0  # everything else works


# -- the label schema is pinned per campaign --------------------------------------------------------

def three(labels):
    class Versioned(TaskType):
        name = "versioned"
        schema = LabelSchema(LabelKind.SINGLE, labels)

        def prelabel(self, unit):
            return PreLabel(labels[len(unit.text) % 3], 0.6)

    return plugin("versioned_plugin", register_task_types=lambda register: register(Versioned()))


def test_a_plugin_that_renames_a_label_does_not_break_existing_campaigns(tmp_path, home, with_plugin):
    with_plugin(three(("keep", "drop", "other")))
    spec = write_spec(tmp_path, task_type="versioned")
    assert run(home, "run", str(spec)).exit_code == 0
    with_plugin(three(("keep", "renamed", "other")))  # the plugin's next release
    for command in (["aggregate", "c1"], ["agreement", "c1"], ["export", "c1"], ["report", "c1"], ["status", "c1"]):
        result = run(home, *command)
        assert result.exit_code == 0, (command, result.output)  # used to be tracebacks: label 'drop' is not one of
    records = [json.loads(x) for x in (home / "exports" / "c1" / "c1.jsonl").read_text().splitlines()]
    assert "drop" in {r["label"] for r in records}
    line = one_line(run(home, "pull", str(spec)), "campaign 'c1' was planned with task type 'versioned' labels "
                                                  "['keep', 'drop', 'other']", "now has ['keep', 'renamed', 'other']",
                    "start a new campaign")
    assert "aggregate, agreement, export and report still work" in line
    one_line(run(home, "run", str(spec)), "cannot go on")


# -- multi-choice may be left empty ----------------------------------------------------------------

def test_multi_choice_may_be_empty_in_label_studio_and_everywhere_else():
    class Topics(TaskType):
        name = "t"
        schema = LabelSchema(LabelKind.MULTI, ("a", "b"))

    config = Topics().label_config()
    assert 'choice="multiple"' in config and "required" not in config
    assert Topics().from_ls_result(Topics().to_ls_result((), None), None) == ()
    single = type("S", (TaskType,), {"name": "s", "schema": LabelSchema(LabelKind.SINGLE, ("a", "b"))})()
    assert 'required="true"' in single.label_config()


# -- commands from plugins, `workbench units` -------------------------------------------------------

def test_a_plugin_adds_a_command_and_cannot_take_one(home, with_plugin):
    import click

    def commands(cli):
        @cli.command()
        def hello():
            """Say hello."""
            click.echo("hello from a plugin")

    def greedy(cli):
        @cli.command(name="run")
        def run_():
            """Not the real run."""

    from workbench import registry as registry_mod

    registry_mod.reset_registry(registry_mod.make_registry(extra_plugins=[
        plugin("greeter", register_commands=commands), plugin("greedy", register_commands=greedy)]))
    result = run(home, "hello")
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"
    assert "Not the real run" not in run(home, "run", "--help").output
    listed = {p["name"]: p for p in json.loads(run(home, "plugins", "--json").output)}
    assert listed["greedy"]["errors"] == ["plugin 'greedy' failed in register_commands: PluginError: command 'run' "
                                          "is taken (by workbench or another plugin)"]
    assert "server" in run(home, "--help").output  # the Label Studio backend's command, added the same way


def test_units_lists_what_gold_is_written_against(tmp_path, home):
    gold = tmp_path / "gold.jsonl"
    spec = write_spec(tmp_path, documents=str(ARTICLES / "000_*.txt"))
    assert run(home, "run", str(spec), "--until", "plan").exit_code == 0
    data = json.loads(run(home, "units", "c1", "--json").output)
    c = Campaign(load_spec(spec), Store(home))
    assert [d["unit_id"] for d in data] == [u.id for u in c.units()]
    assert all(d["prelabel"] in ("negative", "neutral", "positive") for d in data)
    template = run(home, "units", "c1", "--gold-template").output
    gold.write_text(template)
    spec = write_spec(tmp_path, documents=str(ARTICLES / "000_*.txt"), gold=f'[gold]\nfile = "{gold}"\nrate = 0.2')
    result = run(home, "run", str(spec), "--until", "plan", "--json")
    assert result.exit_code == 0, result.output  # the template is a valid gold file as it is
    assert json.loads(result.output)["plan"]["gold_units"] == len(data)
    csv_out = run(home, "units", "c1", "--csv").output.splitlines()
    assert csv_out[0].startswith("unit_id,document,start,end,text") and len(csv_out) == len(data) + 1
    table = run(home, "units", "c1").output
    assert f"of {len(data)} units" in table
    result = run(home, "units", "nope")
    assert result.exit_code == 1 and "no campaign 'nope'" in result.output
