"""Models as annotators: the predictions reader, model sources in aggregation (a good model helps,
a bad one is discounted by Dawid-Skene but not by majority vote), the campaign's ``[models]``, the
model plugin hook, the data card and records, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.aggregate.dawid_skene import dawid_skene
from workbench.aggregate.mace import mace
from workbench.aggregate.majority import majority_vote
from workbench.api import Model, PreLabel, hookimpl
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema, Span
from workbench.predictions import read_predictions

from benchmarks.crowd import make_crowd
from helpers import dump_store, write_spec

SENTIMENT = LabelSchema(LabelKind.SINGLE, ("positive", "negative", "neutral"))


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


# -- the predictions reader ---------------------------------------------------------------------

def test_reads_csv_jsonl_and_parquet_alike(tmp_path):
    rows = [("u1", "positive", 0.9), ("u2", "neutral", None), ("u3", "negative", 0.25)]
    csv = tmp_path / "p.csv"
    csv.write_text("unit,label,score\n" + "".join(f"{u},{lab},{'' if s is None else s}\n" for u, lab, s in rows))
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("".join(json.dumps({"unit": u, "label": lab, **({} if s is None else {"score": s})}) + "\n"
                             for u, lab, s in rows))
    parquet = tmp_path / "p.parquet"
    pd.DataFrame({"unit": [r[0] for r in rows], "label": [r[1] for r in rows],
                  "score": [r[2] for r in rows]}).to_parquet(parquet)
    for path in (csv, jsonl, parquet):
        df = read_predictions(path, SENTIMENT, {"u1", "u2", "u3", "u4"})
        assert list(df.columns) == ["unit", "label", "score"], path
        assert df["unit"].tolist() == ["u1", "u2", "u3"]
        assert df["label"].tolist() == ["positive", "neutral", "negative"]
        assert df["score"].dtype == float
        assert df["score"].iloc[0] == 0.9 and math.isnan(df["score"].iloc[1]) and df["score"].iloc[2] == 0.25


def test_score_is_optional_and_crowdkit_task_column_is_accepted(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("task,label\nu1,positive\n")
    df = read_predictions(path, SENTIMENT)
    assert df["unit"].tolist() == ["u1"] and math.isnan(df["score"].iloc[0])


def test_label_sets_and_spans_are_json(tmp_path):
    multi = LabelSchema(LabelKind.MULTI, ("a", "b", "c"))
    path = tmp_path / "m.csv"
    path.write_text('unit,label\nu1,"[""b"", ""a""]"\nu2,[]\n')
    assert read_predictions(path, multi)["label"].tolist() == [("a", "b"), ()]
    spans = LabelSchema(LabelKind.SPANS, ("PER", "ORG"))
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"unit": "u1", "label": [{"start": 0, "end": 3, "label": "PER"}]}) + "\n")
    assert read_predictions(path, spans)["label"].tolist() == [(Span(0, 3, "PER"),)]


@pytest.mark.parametrize("name,content,needles", [
    ("p.csv", "unit,answer\nu1,positive\n", ["p.csv", "missing column(s) label", "found unit, answer"]),
    ("p.csv", "unit,label\nu1,positive\nu2,maybe\n", ["p.csv", "line 3", "label", "'maybe'", "positive"]),
    ("p.csv", "unit,label\nu1,positive\nu1,negative\n", ["line 3", "'u1' appears twice", "line 2"]),
    ("p.csv", "unit,label\nu9,positive\n", ["line 2", "'u9' is not a unit of the campaign"]),
    ("p.csv", "unit,label,score\nu1,positive,high\n", ["line 2", "score", "[0, 1]", "'high'"]),
    ("p.csv", "unit,label,score\nu1,positive,1.5\n", ["line 2", "score", "[0, 1]"]),
    ("p.csv", "unit,label\n,positive\n", ["line 2", "unit: is empty"]),
    ("p.csv", "unit,label\nu1,\n", ["line 2", "label: is empty"]),
    ("p.jsonl", '{"unit": "u1", "label": "positive"}\n\n{"unit": "u2", "label": 3}\n', ["p.jsonl", "line 3", "label"]),
    ("p.jsonl", '{"unit": "u1", "label": "positive"}\nnot json\n', ["line 2", "not JSON"]),
    ("p.xlsx", "x", ["p.xlsx", "expected a predictions file ending in", ".csv"]),
])
def test_bad_predictions_name_file_line_and_field(tmp_path, name, content, needles):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(WorkbenchError) as err:
        read_predictions(path, SENTIMENT, {"u1", "u2"})
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_missing_predictions_file(tmp_path):
    with pytest.raises(WorkbenchError, match="no such predictions file"):
        read_predictions(tmp_path / "none.csv", SENTIMENT)


# -- a simulated crowd: a good model helps, a bad one is discounted -------------------------------

def accuracy(result, truth: pd.Series) -> float:
    labels = result.labels.set_index("unit")["label"].astype(object)
    return float((labels == truth.reindex(labels.index).astype(object)).mean())


def with_model(table: pd.DataFrame, truth: pd.Series, labels) -> pd.DataFrame:
    model = pd.DataFrame({"unit": truth.index.to_numpy(), "annotator": "model:m", "label": labels})
    return pd.concat([table.rename(columns={"task": "unit", "worker": "annotator"}), model], ignore_index=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_good_model_raises_dawid_skene_and_bad_models_are_discounted(seed):
    # a weak crowd: three annotators per unit, each right 45-70% of the time
    crowd = make_crowd(n_tasks=1500, n_workers=15, n_classes=3, overlap=3, accuracy=(0.45, 0.7), seed=seed)
    table, schema, truth = crowd.long_table(), LabelSchema(LabelKind.SINGLE, crowd.classes), crowd.truth
    rng = np.random.default_rng(seed + 100)
    classes = np.array(crowd.classes, dtype=object)
    true = truth.to_numpy(dtype=object)
    good = np.where(rng.random(len(true)) < 0.85, true, classes[rng.integers(0, 3, len(true))])
    random_ = classes[rng.integers(0, 3, len(true))]
    constant = np.full(len(true), classes[0], dtype=object)

    ds_alone = accuracy(dawid_skene(table, schema), truth)
    mv_alone = accuracy(majority_vote(table, schema), truth)
    assert accuracy(dawid_skene(with_model(table, truth, good), schema), truth) > ds_alone + 0.15
    for bad in (random_, constant):
        # Dawid-Skene learns the bad model's confusion and discounts it ...
        assert accuracy(dawid_skene(with_model(table, truth, bad), schema), truth) > ds_alone - 0.025
        assert accuracy(mace(with_model(table, truth, bad), schema), truth) > ds_alone - 0.025
        # ... majority vote counts it as one more vote, and falls
        assert accuracy(majority_vote(with_model(table, truth, bad), schema), truth) < mv_alone - 0.03


def test_dawid_skene_estimates_the_models_accuracy():
    crowd = make_crowd(n_tasks=1500, n_workers=15, n_classes=3, overlap=3, accuracy=(0.45, 0.7), seed=4)
    schema, truth = LabelSchema(LabelKind.SINGLE, crowd.classes), crowd.truth
    rng = np.random.default_rng(7)
    classes = np.array(crowd.classes, dtype=object)
    true = truth.to_numpy(dtype=object)
    good = np.where(rng.random(len(true)) < 0.85, true, classes[rng.integers(0, 3, len(true))])
    info = dawid_skene(with_model(crowd.long_table(), truth, good), schema).annotators.set_index("annotator")
    real = float((good == true).mean())
    assert abs(info.at["model:m", "accuracy"] - real) < 0.05, (info.at["model:m", "accuracy"], real)


# -- campaigns ----------------------------------------------------------------------------------

MODELS_POOL = "\n".join(
    f'[[annotators]]\nid = "{aid}"\npersona = "{p}"\n' for aid, p in
    [("a1", "careful"), ("a2", "hasty"), ("a3", "spammer"), ("a4", "careful")])


def campaign(tmp_path, models: str = "", method: str = "dawid_skene", name: str = "m1") -> Path:
    return write_spec(tmp_path, name=name, task_type="claims", pool=MODELS_POOL,
                      extra=f'[aggregate]\nmethod = "{method}"\n\n[export]\nformats = ["jsonl"]\n\n{models}')


def test_prelabeler_votes_as_a_model_source_never_as_an_annotator(tmp_path, home):
    spec = campaign(tmp_path, "[models]\nprelabels = true\n")
    result = run(home, "run", str(spec), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    agg = out["aggregate"]
    models = agg["models"]
    [source] = models["sources"]
    assert source["source"] == "model:prelabel" and source["units"] == agg["units"]
    assert source["estimate"]["measure"] == "accuracy" and 0 <= source["estimate"]["value"] <= 1
    assert models["model_votes"] == agg["units"]
    assert models["vote_share"] == pytest.approx(agg["units"] / (agg["units"] + agg["annotations"]), abs=1e-6)
    assert sum(r["units"] for r in models["by_label"].values()) == agg["units"]
    assert sum(r["changed"] for r in models["by_label"].values()) == models["changed"]
    # never an annotator: not in the quality table, the pool, or the people's votes
    quality = run(home, "annotators", "m1", "--json")
    assert quality.exit_code == 0, quality.output
    assert "a1" in quality.output and "model:" not in quality.output
    folder = Path(out["export"]["folder"])
    records = [json.loads(x) for x in (folder / "m1.jsonl").read_text().splitlines()]
    assert all(len(r["model_votes"]) == 1 and r["model_votes"][0]["model"] == "model:prelabel" for r in records)
    assert all(not v["annotator"].startswith("model:") for r in records for v in r["votes"])
    # n_annotations counts people only
    assert all(r["n_annotations"] == len(r["votes"]) for r in records)
    card = (folder / "README.md").read_text()
    assert "## Model sources" in card and "model:prelabel" in card
    assert "would have another consensus label without the models" in card
    pool = card.split("## Annotator pool", 1)[1].split("## Agreement", 1)[0]
    assert "model:" not in pool
    report = run(home, "report", "m1", "--out", str(tmp_path / "r.html"))
    assert report.exit_code == 0, report.output
    html = (tmp_path / "r.html").read_text()
    assert "<h3>Model sources</h3>" in html and html.count("model:prelabel") == 1


def test_changed_units_match_a_people_only_consensus(tmp_path, home):
    spec = campaign(tmp_path, "[models]\nprelabels = true\n")
    out = json.loads(run(home, "run", str(spec), "--json", "--until", "aggregate").output)
    from workbench.campaign import Campaign
    from workbench.store import Store

    c = Campaign.open("m1", Store(home))
    with_models = c.consensus()
    people = dawid_skene(c.table(), c.task_type.schema, gold=c.honeypot_gold())
    alone = dict(zip(people.labels["unit"], people.labels["label"]))
    changed = sorted(u for u in with_models if with_models[u] != alone[u])
    assert out["aggregate"]["models"]["changed"] == len(changed)
    assert out["aggregate"]["models"]["changed_units"] == changed[:50]


def test_predictions_file_source_and_a_changed_file_reaggregates(tmp_path, home):
    spec = campaign(tmp_path)
    assert run(home, "run", str(spec), "--until", "aggregate").exit_code == 0
    from workbench.campaign import Campaign
    from workbench.store import Store

    units = [u.id for u in Campaign.open("m1", Store(home)).units()]
    preds = tmp_path / "preds.csv"
    preds.write_text("unit,label,score\n" + "".join(f"{u},check-worthy,0.7\n" for u in units))
    spec.write_text(spec.read_text() + '\n[models]\npredictions = { constant = "preds.csv" }\n')
    result = run(home, "aggregate", str(spec), "--json")
    assert result.exit_code == 0, result.output
    agg = json.loads(result.output)
    [source] = agg["models"]["sources"]
    assert source["source"] == "model:constant" and source["mean_score"] == pytest.approx(0.7)
    # a constant model is a spammer to Dawid-Skene: its expected accuracy is about the class prior
    assert source["agrees_with_consensus"] < 0.9
    # the file changes: the next export aggregates again before writing
    preds.write_text("unit,label,score\n" + "".join(f"{u},non-factual,0.6\n" for u in units))
    result = run(home, "export", str(spec), "--json")
    assert result.exit_code == 0, result.output
    note, _, body = result.output.partition("\n{")
    assert "the model sources ([models]: their spec or their votes) changed" in note
    records = [json.loads(x) for x in (Path(json.loads("{" + body)["folder"]) / "m1.jsonl").read_text()
               .splitlines()]
    assert {v["label"] for r in records for v in r["model_votes"]} == {"non-factual"}


def oracle_predict(units, task_type):
    """An outside plugin's model: 'check-worthy' when the sentence has a figure; no answer on every
    fifth unit."""
    return [PreLabel("check-worthy" if any(c.isdigit() for c in u.text) else "unimportant", 0.8) if i % 5 else None
            for i, u in enumerate(units)]


def oracle_plugin():
    import types

    mod = types.ModuleType("oracle_plugin")
    mod.register_models = hookimpl(lambda register: register(  # type: ignore[attr-defined]
        Model("oracle", oracle_predict, "figures are claims", task_types=("claims",))))
    return mod


def test_plugin_model_votes_under_its_name(tmp_path, home, with_plugin):
    reg = with_plugin(oracle_plugin())
    assert "oracle" in reg.names("models")
    spec = campaign(tmp_path, '[models]\nplugins = ["oracle"]\nprelabels = true\n')
    result = run(home, "run", str(spec), "--json", "--until", "aggregate")
    assert result.exit_code == 0, result.output
    sources = {s["source"]: s for s in json.loads(result.output)["aggregate"]["models"]["sources"]}
    assert set(sources) == {"model:prelabel", "model:oracle"}
    # it answered 4 units in 5 (None: no vote)
    assert 0 < sources["model:oracle"]["predictions"] < sources["model:prelabel"]["predictions"]


def test_majority_counts_a_model_as_one_vote(tmp_path, home):
    spec = campaign(tmp_path, "[models]\nprelabels = true\n", method="majority")
    out = json.loads(run(home, "run", str(spec), "--json", "--until", "aggregate").output)
    [source] = out["aggregate"]["models"]["sources"]
    assert source["estimate"] is None  # majority estimates nothing per annotator


def test_label_file_with_predictions(tmp_path, home):
    crowd = make_crowd(n_tasks=600, n_workers=10, n_classes=3, overlap=3, accuracy=(0.45, 0.7), seed=9)
    labels = tmp_path / "labels.csv"
    crowd.long_table().to_csv(labels, index=False)
    rng = np.random.default_rng(1)
    true = crowd.truth.to_numpy(dtype=object)
    good = np.where(rng.random(len(true)) < 0.9, true,
                    np.array(crowd.classes, dtype=object)[rng.integers(0, 3, len(true))])
    preds = tmp_path / "bert.jsonl"
    preds.write_text("".join(json.dumps({"unit": u, "label": lab}) + "\n" for u, lab in zip(crowd.truth.index, good)))
    result = run(home, "aggregate", str(labels), "--method", "dawid_skene", "--predictions", f"bert={preds}",
                 "--out", str(tmp_path / "with.csv"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["models"]["sources"][0]["source"] == "model:bert"
    assert out["annotators"] == 10 and out["annotations"] == 1800  # people only
    assert run(home, "aggregate", str(labels), "--method", "dawid_skene", "--out", str(tmp_path / "without.csv"),
               ).exit_code == 0

    def acc(path):
        got = pd.read_csv(path).set_index("unit")["label"]
        return float((got == crowd.truth.reindex(got.index)).mean())

    assert acc(tmp_path / "with.csv") > acc(tmp_path / "without.csv") + 0.1
    assert out["models"]["changed"] > 0.1 * 600
    plain = run(home, "aggregate", str(labels), "--method", "dawid_skene", "--predictions", str(preds))
    assert plain.exit_code == 0 and "model:bert" in plain.output


# -- bad input: one line, non-zero exit, the store unchanged ------------------------------------

@pytest.fixture
def planned(tmp_path, home):
    spec = campaign(tmp_path / "ok", name="existing")
    assert run(home, "run", str(spec), "--until", "aggregate").exit_code == 0
    return spec


def check_fails(home, args, *needles):
    before = dump_store(home)
    result = run(home, *args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert dump_store(home) == before
    return lines[0]


def test_missing_predictions_file_fails_before_anything_runs(planned, home):
    planned.write_text(planned.read_text() + '\n[models]\npredictions = ["nowhere.csv"]\n')
    check_fails(home, ["aggregate", str(planned)], "models.predictions.nowhere", "nowhere.csv", "is not a file")


def test_wrong_label_in_predictions(planned, home):
    (planned.parent / "p.csv").write_text("unit,label\nx,check-worthy\ny,true\n")
    planned.write_text(planned.read_text() + '\n[models]\npredictions = ["p.csv"]\n')
    check_fails(home, ["aggregate", str(planned)], "models.predictions.p", "p.csv", "line 3", "label", "'true'",
                "check-worthy")


@pytest.mark.parametrize("command", ["aggregate", "run", "plan", "assign"])
def test_predictions_on_unknown_units(planned, home, command):
    (planned.parent / "p.csv").write_text("unit,label\nclaims-nope,check-worthy\n")
    planned.write_text(planned.read_text() + '\n[models]\npredictions = ["p.csv"]\n')
    check_fails(home, [command, str(planned)], "models.predictions.p", "line 2", "'claims-nope'",
                "not a unit of the campaign")


def test_unknown_model_name(planned, home):
    planned.write_text(planned.read_text() + '\n[models]\nplugins = ["gpt-9"]\n')
    check_fails(home, ["aggregate", str(planned)], "models.plugins[0]", "unknown model 'gpt-9'", "known:")


@pytest.mark.parametrize("table,needles", [
    ('prelabels = "yes"', ["models.prelabels", "expected bool"]),
    ("predictions = [3]", ["models.predictions[0]", "path of a predictions file"]),
    ('predictions = ["a/p.csv", "b/p.csv"]', ["models", "'p' is named twice"]),
    ("min_score = 2", ["models.min_score", "[0, 1]"]),
    ("weights = 1", ["models.weights", "unknown field"]),
])
def test_bad_models_table(planned, home, table, needles):
    planned.write_text(planned.read_text() + f"\n[models]\n{table}\n")
    check_fails(home, ["aggregate", str(planned)], *needles)


def test_predictions_option_is_for_label_files(planned, home):
    check_fails(home, ["aggregate", "existing", "--predictions", "x.csv"], "--predictions", "[models]")


def test_spec_change_is_recorded(planned, home):
    planned.write_text(planned.read_text() + "\n[models]\nprelabels = true\nmin_score = 0.6\n")
    assert run(home, "aggregate", str(planned)).exit_code == 0
    from workbench.campaign import Campaign
    from workbench.store import Store

    versions = Campaign.open("existing", Store(home)).state.versions
    assert "models.prelabels: false -> true" in versions[-1]["changes"]
    assert "models.min_score: (unset) -> 0.6" in versions[-1]["changes"]


def test_near_constant_model_is_noted_and_one_coin_warned(tmp_path, home):
    crowd = make_crowd(n_tasks=300, n_workers=8, n_classes=3, overlap=3, accuracy=(0.5, 0.8), seed=2)
    labels = tmp_path / "labels.csv"
    crowd.long_table().to_csv(labels, index=False)
    preds = tmp_path / "const.csv"
    preds.write_text("unit,label\n" + "".join(f"{u},c0\n" for u in crowd.truth.index))
    out = run(home, "aggregate", str(labels), "--method", "one_coin_dawid_skene", "--predictions", str(preds))
    assert out.exit_code == 0, out.output
    assert "model:const gave 'c0' to 100% of its units" in out.output and "prefer dawid_skene or mace" in out.output
    out = run(home, "aggregate", str(labels), "--method", "dawid_skene", "--predictions", str(preds))
    assert "near-constant" in out.output and "one-coin" not in out.output


def test_plugin_model_for_another_task_type_or_bad_answers(tmp_path, home, with_plugin):
    import types

    mod = types.ModuleType("odd_models")
    mod.register_models = hookimpl(lambda register: [  # type: ignore[attr-defined]
        register(Model("sentiment-only", oracle_predict, task_types=("sentiment",))),
        register(Model("liar", lambda units, tt: [PreLabel("maybe", 0.5) for _ in units])),
        register(Model("short", lambda units, tt: [])),
        register(Model("crash", lambda units, tt: 1 / 0)),
    ])
    with_plugin(mod)
    spec = campaign(tmp_path / "ok", name="existing")
    assert run(home, "run", str(spec), "--until", "aggregate").exit_code == 0
    base = spec.read_text()
    for name, needles in [("sentiment-only", ["models.plugins[0]", "labels task type(s) sentiment, not 'claims'"]),
                          ("liar", ["model 'liar'", "label 'maybe' is not one of"]),
                          ("short", ["model 'short'", "returned 0 answers for"]),
                          ("crash", ["model 'crash'", "predict() on", "ZeroDivisionError"])]:
        spec.write_text(base + f'\n[models]\nplugins = ["{name}"]\n')
        check_fails(home, ["aggregate", str(spec)], *needles)


def test_span_task_prelabeler_votes_in_the_token_vote(tmp_path, home):
    spec = write_spec(tmp_path, name="t1", task_type="text", pool=MODELS_POOL,
                      extra='[aggregate]\nmethod = "spans"\n\n[export]\nformats = ["jsonl", "parquet"]\n\n'
                            '[models]\nprelabels = true\n')
    result = run(home, "run", str(spec), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    models = out["aggregate"]["models"]
    assert models["sources"][0]["source"] == "model:prelabel" and models["sources"][0]["estimate"] is None
    folder = Path(out["export"]["folder"])
    records = [json.loads(x) for x in (folder / "t1.jsonl").read_text().splitlines()]
    spans = [v["label"] for r in records for v in r["model_votes"]]
    assert spans and all(isinstance(x, list) for x in spans)
    assert any(s and {"start", "end", "label"} <= set(s[0]) for s in spans)
    table = pd.read_parquet(folder / "t1.parquet")
    assert len(table) == len(records) and "model_votes" in table.columns
