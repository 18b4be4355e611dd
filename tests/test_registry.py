"""The plugin surface: registration hooks, duplicates, unknown names, overrides, tracing."""

import json
import types

import pytest
from click.testing import CliRunner

from workbench.api import Aggregator, BackendType, Exporter, Metric, hookimpl
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema
from workbench.registry import get_registry, make_registry
from workbench.simulate import Persona
from workbench.tasktype import TaskType


def plugin(name, **hooks):
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


class Yes(TaskType):
    name = "yesno"
    schema = LabelSchema(LabelKind.SINGLE, ("yes", "no"))


def test_builtins_and_defaults_are_loaded():
    reg = get_registry()
    assert {"text", "claims", "sentiment"} <= set(reg.names("task_types"))
    assert "majority" in reg.names("aggregators")
    assert {"jsonl", "csv"} <= set(reg.names("exporters"))
    assert "local" in reg.names("backends")
    assert {"expert", "careful", "hasty", "spammer", "biased"} <= set(reg.names("annotators"))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(WorkbenchError, match=r"unknown task type 'nope' \(known: .*claims.*sentiment.*text"):
        get_registry().get("task_types", "nope")


def test_duplicate_names_from_two_plugins_are_an_error():
    one = plugin("one", register_task_types=lambda register: register(Yes()))
    two = plugin("two", register_task_types=lambda register: register(Yes()))
    reg = make_registry(extra_plugins=[one, two])
    assert "claims" in reg.names("task_types")  # the clash breaks nothing else
    with pytest.raises(WorkbenchError, match="task type 'yesno' is registered by two plugins, 'one' and 'two'"):
        reg.get("task_types", "yesno")


def test_a_plugin_overrides_a_core_default(with_plugin):
    def mine(table, schema, **kw):
        raise AssertionError("not called here")

    reg = with_plugin(plugin("better", register_aggregators=lambda register: register(
        Aggregator("majority", mine, "a better majority"))))
    assert reg.get("aggregators", "majority").func is mine
    entry = reg.entries["aggregators"]["majority"]
    assert entry.plugin == "better" and entry.overrides == "workbench.default_plugins.aggregators"


def test_every_kind_registers_through_its_hook(with_plugin):
    reg = with_plugin(plugin(
        "everything",
        register_task_types=lambda register: register(Yes()),
        register_annotators=lambda register: register(Persona("saint", 1.0)),
        register_aggregators=lambda register: register(Aggregator("first", lambda t, s, **k: None)),
        register_metrics=lambda register: register(Metric("count", lambda t, s, **k: None)),
        register_exporters=lambda register: register(Exporter("txt", "txt", lambda r, p, **k: None)),
        register_backends=lambda register: register(BackendType("nowhere", lambda ctx: None)),
    ))
    info = {p["name"]: p for p in reg.plugins()}["everything"]
    assert info["provides"] == {
        "task_types": ["yesno"], "annotators": ["saint"], "aggregators": ["first"], "metrics": ["count"],
        "exporters": ["txt"], "backends": ["nowhere"],
    }


def test_registering_without_a_name_is_an_error():
    bad = plugin("bad", register_metrics=lambda register: register(object()))
    reg = make_registry(extra_plugins=[bad])
    assert "percent_agreement" in reg.names("metrics")  # the other plugins' metrics are there
    info = {p["name"]: p for p in reg.plugins()}["bad"]
    assert info["errors"] == ["plugin 'bad' failed in register_metrics: PluginError: plugin 'bad' registered a "
                              "metric without a name"]


def test_load_plugins_env_selects_entry_points(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOAD_PLUGINS", "claims")
    assert make_registry().names("task_types") == ["claims"]
    monkeypatch.setenv("WORKBENCH_LOAD_PLUGINS", "")
    assert make_registry().names("task_types") == []


def test_trace_env_prints_hook_calls(monkeypatch, capfd):
    monkeypatch.setenv("WORKBENCH_TRACE_PLUGINS", "1")
    make_registry().names("backends")
    assert "register_backends" in capfd.readouterr().err


def test_plugins_command_lists_what_each_plugin_provides():
    result = CliRunner().invoke(cli(), ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = {p["name"]: p for p in json.loads(result.output)}
    assert data["sentiment"]["provides"] == {"task_types": ["sentiment"]}
    assert data["sentiment"]["version"] == "0.1.0"
    assert data["workbench.default_plugins.backends"]["default"] is True
    table = CliRunner().invoke(cli(), ["plugins"])
    assert table.exit_code == 0 and "task_types: claims" in table.output


def test_metric_errors_and_kinds_in_the_agreement_step_and_the_data_card():
    from workbench.agreement.report import compute_metrics

    def broken(table, schema, **kw):
        raise ValueError("boom")

    reg = make_registry([plugin("outside", register_metrics=lambda register: register(
        Metric("broken", broken, kinds=frozenset({LabelKind.SINGLE}))))], load_entrypoints=False)
    schema = LabelSchema(LabelKind.SINGLE, ("yes", "no"))
    import pandas as pd

    table = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "annotator": ["a", "b", "a", "b"],
                          "label": ["yes", "yes", "no", "yes"]})
    # the agreement step stops on an outside metric's error, naming it; the data card notes it and goes on
    with pytest.raises(WorkbenchError, match=r"plugin 'outside': metric 'broken': computing failed: ValueError: boom"):
        compute_metrics(reg, schema, table)
    card = compute_metrics(reg, schema, table, digits=4, errors="note")
    assert card["broken"] == {"value": None, "note": "not computed: ValueError: boom"}
    assert card["percent_agreement"]["value"] == 0.5
    # a named metric that does not apply to the label kind is said, not run
    out = compute_metrics(reg, schema, table, names=("span_f1_exact", "percent_agreement"))
    assert out["span_f1_exact"] == {"value": None, "note": "does not apply to single labels"}
    assert "span_f1_exact" not in compute_metrics(reg, schema, table, errors="note")
