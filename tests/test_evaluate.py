"""Model evaluation: the scores against scikit-learn and plain references, the predictions reader,
and ``workbench evaluate`` end to end on a local campaign (and its bad input)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.preprocessing import MultiLabelBinarizer

from workbench import bootstrap
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.evaluate import metrics as ev
from workbench.evaluate.metrics import calibration, categorical_scores, score_against, set_scores
from workbench.models import LabelKind, LabelSchema, Span
from workbench.predictions import read_predictions

from helpers import ARTICLES, write_spec


def plain_sums(contrib, resamples, seed, key=None):
    """The plain bootstrap (unit indices drawn one by one) in place of the pattern shortcut."""
    return bootstrap.resampled_sums(contrib, resamples, seed)


LABELS = ["a", "b", "c", "d", "e"]


def run(*args, home=None):
    base = ["--home", str(home)] if home else []
    return CliRunner().invoke(cli(), [*base, *args])


# -- the figures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_categorical_scores_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    truth = list(rng.choice(LABELS[:4], size=n, p=[0.5, 0.3, 0.15, 0.05]))
    # predictions never use "c" (zero division for its precision) and sometimes use "e", which the
    # reference never has (zero division for its recall)
    pred = [x if rng.random() < 0.6 else rng.choice(["a", "b", "d", "e"]) for x in truth]
    got = categorical_scores(truth, pred, LABELS, resamples=0)
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=LABELS, zero_division=0)
    seen = set(truth) | set(pred)
    for i, row in enumerate(got["per_class"]):
        assert row["support"] == s[i]
        if row["label"] in seen:
            assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]))
        else:
            assert row["precision"] is None and row["f1"] is None
    assert got["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert got["macro_f1"] == pytest.approx(f1_score(truth, pred, average="macro", zero_division=0))
    assert got["micro_f1"] == pytest.approx(f1_score(truth, pred, average="micro", zero_division=0))
    assert got["weighted_f1"] == pytest.approx(f1_score(truth, pred, average="weighted", zero_division=0))
    assert got["confusion"]["matrix"] == confusion_matrix(truth, pred, labels=LABELS).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_label_set_scores_match_scikit_learn_multilabel(seed):
    rng = np.random.default_rng(seed)
    schema = LabelSchema(LabelKind.MULTI, tuple(LABELS))
    n = 120
    truth = [tuple(sorted({x for x in LABELS[:4] if rng.random() < 0.35})) for _ in range(n)]
    pred = [tuple(sorted({x for x in LABELS if x != "c" and rng.random() < 0.3} | set(t[:1]))) for t in truth]
    got = set_scores(truth, pred, schema, resamples=0)
    mlb = MultiLabelBinarizer(classes=LABELS)
    yt, yp = mlb.fit_transform(truth), mlb.transform(pred)
    p, r, f, s = precision_recall_fscore_support(yt, yp, zero_division=0)
    for i, row in enumerate(got["per_class"]):
        assert row["support"] == s[i]
        if row["f1"] is not None:
            assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]))
    assert got["accuracy"] == pytest.approx(accuracy_score(yt, yp))  # subset accuracy
    mp, mr, mf, _ = precision_recall_fscore_support(yt, yp, average="micro", zero_division=0)
    assert (got["micro_precision"], got["micro_recall"], got["micro_f1"]) == pytest.approx((mp, mr, mf))
    present = [i for i in range(len(LABELS)) if yt[:, i].any() or yp[:, i].any()]
    assert got["macro_f1"] == pytest.approx(f1_score(yt[:, present], yp[:, present], average="macro",
                                                     zero_division=0))


def test_span_scores_on_exact_spans():
    schema = LabelSchema(LabelKind.SPANS, ("ORG", "PER"))
    truth = [(Span(0, 3, "ORG"), Span(5, 9, "PER")), (), (Span(1, 4, "ORG"),)]
    pred = [(Span(0, 3, "ORG"), Span(5, 8, "PER")), (Span(0, 2, "ORG"),), (Span(1, 4, "PER"),)]
    got = set_scores(truth, pred, schema, resamples=0)
    # matched: 1 (u0 ORG); predicted 4, reference 3
    assert got["items"] == {"reference": 3, "predicted": 4, "matched": 1}
    assert got["micro_precision"] == pytest.approx(1 / 4) and got["micro_recall"] == pytest.approx(1 / 3)
    assert got["micro_f1"] == pytest.approx(2 / 7)
    org, per = got["per_class"]
    assert (org["support"], org["predicted"], org["f1"]) == (2, 2, pytest.approx(0.5))
    assert (per["support"], per["predicted"], per["f1"]) == (1, 2, 0.0)
    assert got["macro_f1"] == pytest.approx(0.25)
    assert got["accuracy"] == 0.0  # no unit's set is exactly right
    cm = pd.DataFrame(got["confusion"]["matrix"], index=got["confusion"]["rows"], columns=got["confusion"]["columns"])
    assert cm.loc["ORG", "ORG"] == 1 and cm.loc["PER", "(missed)"] == 1 and cm.loc["ORG", "PER"] == 1
    assert cm.loc["(none)", "PER"] == 1 and cm.loc["(none)", "ORG"] == 1


def test_calibration_against_a_plain_loop():
    rng = np.random.default_rng(3)
    conf = rng.random(500)
    conf[:5] = [0.0, 1.0, 0.1, 0.2, 0.95]
    correct = rng.random(500) < conf * 0.8
    conf[10:20] = np.nan
    got = calibration(conf, correct, bins=10)
    ok = ~np.isnan(conf)
    ece = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        inside = ok & (conf >= lo) & ((conf < hi) if b < 9 else (conf <= hi))
        if inside.any():
            ece += inside.sum() / ok.sum() * abs(correct[inside].mean() - conf[inside].mean())
            assert got["table"][b]["n"] == inside.sum()
    assert got["ece"] == pytest.approx(ece)
    assert got["brier"] == pytest.approx(np.mean((conf[ok] - correct[ok]) ** 2))
    assert got["scored"] == 490 and got["without_score"] == 10
    assert calibration(np.full(3, np.nan), np.ones(3, dtype=bool)) is None


def test_bootstrap_intervals_of_accuracy_and_macro_f1(monkeypatch):
    rng = np.random.default_rng(1)

    def sample(n):
        truth = list(rng.choice(LABELS[:3], size=n))
        return truth, [x if rng.random() < 0.7 else rng.choice(LABELS[:3]) for x in truth]

    truth, pred = sample(200)
    got = categorical_scores(truth, pred, LABELS[:3], resamples=400, seed=3)
    for key in ("accuracy", "macro_f1"):
        low, high = got[f"{key}_ci"]
        assert low <= got[key] <= high
    assert categorical_scores(truth, pred, LABELS[:3], resamples=400, seed=3) == got
    assert categorical_scores(truth, pred, LABELS[:3], resamples=400, seed=4)["accuracy_ci"] != got["accuracy_ci"]
    big = categorical_scores(*sample(3200), LABELS[:3], resamples=400, seed=3)
    width = lambda r, k: r[f"{k}_ci"][1] - r[f"{k}_ci"][0]  # noqa: E731
    assert width(big, "accuracy") < width(got, "accuracy") / 2 and width(big, "macro_f1") < width(got, "macro_f1") / 2
    # the pattern shortcut is the plain bootstrap: with plain draws, a loop over them gives the same interval
    monkeypatch.setattr(ev, "pattern_sums", plain_sums)
    plain = categorical_scores(truth, pred, LABELS[:3], resamples=300, seed=8)
    idx = np.random.default_rng(8).integers(0, 200, size=(300, 200))
    t, p = np.array(truth), np.array(pred)
    acc = [accuracy_score(t[i], p[i]) for i in idx]
    f1 = [f1_score(t[i], p[i], average="macro", zero_division=0) for i in idx]
    assert plain["accuracy_ci"] == pytest.approx(list(np.quantile(acc, [0.025, 0.975])))
    assert plain["macro_f1_ci"] == pytest.approx(list(np.quantile(f1, [0.025, 0.975])))


def test_score_against_counts_units_without_a_prediction():
    schema = LabelSchema(LabelKind.SINGLE, ("x", "y"))
    preds = pd.DataFrame({"unit": ["u1", "u2", "u9"], "label": ["x", "y", "x"], "score": [0.9, np.nan, 0.5]})
    got = score_against(preds, {"u1": "x", "u2": "x", "u3": "y"}, schema, resamples=0)
    assert (got["units"], got["reference_units"], got["not_predicted"]) == (2, 3, 1)
    assert got["accuracy"] == 0.5 and got["calibration"]["scored"] == 1


# -- the predictions file ------------------------------------------------------------------------
SENT = LabelSchema(LabelKind.ORDINAL, ("negative", "neutral", "positive"))
SPANS = LabelSchema(LabelKind.SPANS, ("ORG", "PER"))


def test_reads_csv_jsonl_and_parquet_alike(tmp_path):
    df = pd.DataFrame({"unit": ["u1", "u2", "u3"], "label": ["positive", "neutral", "negative"],
                       "score": [0.9, None, 0.4]})
    df.to_csv(tmp_path / "p.csv", index=False)
    df.to_json(tmp_path / "p.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "p.parquet", index=False)
    out = [read_predictions(tmp_path / f"p.{x}", SENT, {"u1", "u2", "u3", "u4"}) for x in ("csv", "jsonl", "parquet")]
    for got in out:
        assert list(got.columns) == ["unit", "label", "score"]
        assert list(got["label"]) == ["positive", "neutral", "negative"]
        assert got["score"].iloc[0] == 0.9 and np.isnan(got["score"].iloc[1])
    no_score = tmp_path / "n.csv"
    no_score.write_text("task,label\nu1,neutral\n", "utf-8")
    got = read_predictions(no_score, SENT)
    assert got["unit"].tolist() == ["u1"] and np.isnan(got["score"].iloc[0])


def test_reads_spans_as_json_text_or_lists(tmp_path):
    spans = [{"start": 0, "end": 3, "label": "ORG"}]
    (tmp_path / "s.csv").write_text('unit,label\nu1,"' + json.dumps(spans).replace('"', '""') + '"\nu2,[]\n', "utf-8")
    (tmp_path / "s.jsonl").write_text(json.dumps({"unit": "u1", "label": spans}) + "\n\n"
                                      + json.dumps({"unit": "u2", "label": []}) + "\n", "utf-8")
    pd.DataFrame({"unit": ["u1", "u2"], "label": [spans, []]}).to_parquet(tmp_path / "s.parquet", index=False)
    for x in ("csv", "jsonl", "parquet"):
        got = read_predictions(tmp_path / f"s.{x}", SPANS)
        assert got["label"].tolist() == [(Span(0, 3, "ORG"),), ()], x


@pytest.mark.parametrize("name, text, expected", [
    ("p.csv", "unit,label\nu1,positive\nu1,neutral\n", "line 3: unit 'u1' appears twice (first on line 2)"),
    ("p.csv", "unit,label\nu1,positive\nu7,neutral\n", "line 3: unit 'u7' is not a unit of the campaign"),
    ("p.csv", "unit,label\nu1,great\n", "line 2: label: label 'great' is not one of"),
    ("p.csv", "unit,label\nu1,\n", "line 2: label: is empty"),
    ("p.csv", "unit,prediction\nu1,positive\n", "missing column(s) label: expected unit, label and an optional score"),
    ("p.csv", "unit,label,score\nu1,positive,high\n", "line 2: score: expected a number in [0, 1] (the model's confidence), got 'high'"),
    ("p.csv", "unit,label,score\nu1,positive,1.5\n", "line 2: score: expected a number in [0, 1] (the model's confidence), got '1.5'"),
    ("p.jsonl", '{"unit": "u1", "label": "positive"}\n{"unit": "u2", "label": \n', "line 2: not JSON"),
    ("p.jsonl", '["u1", "positive"]\n', "line 1: expected a JSON object"),
    ("p.txt", "u1 positive\n", "expected a predictions file ending in"),
])
def test_bad_predictions_give_one_line_naming_file_row_and_field(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(WorkbenchError) as err:
        read_predictions(path, SENT, {"u1", "u2"})
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message, message


def test_bad_spans_and_parquet_rows_are_named(tmp_path):
    (tmp_path / "s.csv").write_text('unit,label\nu1,ORG\n', "utf-8")
    with pytest.raises(WorkbenchError, match=r"line 2: label: expected a JSON list"):
        read_predictions(tmp_path / "s.csv", SPANS)
    pd.DataFrame({"unit": ["u1", "u2"], "label": ["neutral", "bad"]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(WorkbenchError, match=r"p.parquet: row 2: label"):
        read_predictions(tmp_path / "p.parquet", SENT)
    with pytest.raises(WorkbenchError, match="no such predictions file"):
        read_predictions(tmp_path / "missing.csv", SENT)


# -- the command ---------------------------------------------------------------------------------
def _campaign(tmp_path, home, name="ev", task_type="sentiment"):
    """A local campaign over two articles with the hand-written gold of their units, run to agreement."""
    from workbench.campaign import Campaign
    from workbench.spec import load_spec
    from workbench.store import Store

    documents = str(ARTICLES / "00[01]_*.txt")
    probe = Campaign(load_spec(write_spec(tmp_path / "probe", name=name, task_type=task_type, documents=documents)),
                     Store(tmp_path / "probe-home"))
    probe.plan()
    ids = {u.id for u in probe.units()}
    probe.store.close()
    gold = tmp_path / f"{name}-gold.jsonl"
    lines = (ARTICLES.parent / "gold" / f"{task_type}.jsonl").read_text("utf-8").splitlines()
    gold.write_text("".join(x + "\n" for x in lines if x.strip() and json.loads(x)["unit_id"] in ids), "utf-8")
    spec = write_spec(tmp_path, name=name, task_type=task_type, documents=documents,
                      gold=f'[gold]\nfile = "{gold}"\nrate = 0.15\n')
    result = run("run", str(spec), "--until", "agreement", "--json", home=home)
    assert result.exit_code == 0, result.output
    return spec


def test_evaluate_a_predictions_file_end_to_end(tmp_path, home):
    _campaign(tmp_path, home)
    status = json.loads(run("export", "ev", "--format", "jsonl", "--json", home=home).output)
    records = [json.loads(x) for x in open(status["files"][0], encoding="utf-8")]
    rng = np.random.default_rng(0)
    labels = ["negative", "neutral", "positive"]
    rows = []
    for r in records:  # the consensus, a quarter of it wrong
        label = r["label"] if rng.random() < 0.75 else labels[(labels.index(r["label"]) + 1) % 3]
        rows.append({"unit": r["unit_id"], "label": label, "score": round(float(rng.uniform(0.5, 1)), 3)})
    preds = tmp_path / "my-model.csv"
    pd.DataFrame(rows).to_csv(preds, index=False)
    result = run("evaluate", "ev", "--predictions", str(preds), "--json", "--resamples", "200", home=home)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "my-model" and data["predictions"] == len(rows)
    cons = data["references"]["consensus"]
    truth = [r["label"] for r in records]
    assert cons["units"] == len(records)
    assert cons["accuracy"] == pytest.approx(accuracy_score(truth, [r["label"] for r in rows]))
    assert cons["macro_f1"] == pytest.approx(f1_score(truth, [r["label"] for r in rows], average="macro"))
    assert cons["accuracy_ci"][0] <= cons["accuracy"] <= cons["accuracy_ci"][1]
    assert cons["calibration"]["scored"] == len(rows)
    gold = data["references"]["gold"]
    assert gold["units"] == sum(1 for r in records if r["gold_label"] is not None) > 0
    table = run("evaluate", "ev", "--predictions", str(preds), "--model", "m2", "--resamples", "50", home=home)
    assert table.exit_code == 0, table.output
    for needle in ("vs consensus", "vs gold", "accuracy", "macro-F1", "confusion", "calibration", "ECE"):
        assert needle in table.output, needle
    report = run("report", "ev", "--out", str(tmp_path / "r.html"), home=home)
    assert report.exit_code == 0, report.output
    page = (tmp_path / "r.html").read_text("utf-8")
    assert 'id="evaluations"' in page and "my-model" in page and "m2" in page
    # the same model name again replaces its evaluation, never adds one
    again = run("evaluate", "ev", "--predictions", str(preds), "--model", "m2", "--resamples", "0", "--json",
                home=home)
    assert again.exit_code == 0 and json.loads(again.output)["references"]["consensus"]["accuracy_ci"] is None
    from workbench.campaign import Campaign
    from workbench.store import Store

    stored = Campaign.open("ev", Store(home)).state.evaluations
    assert [e["model"] for e in stored] == ["m2", "my-model"] and stored[0]["resamples"] == 0


def test_evaluate_prelabels_of_a_span_campaign_and_the_demo_line(tmp_path, home):
    _campaign(tmp_path, home, name="sp", task_type="text")
    result = run("evaluate", "sp", "--prelabels", "--json", "--resamples", "100", home=home)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "pre-labels" and data["kind"] == "spans"
    cons = data["references"]["consensus"]
    assert cons["units"] > 0 and 0 <= cons["micro_f1"] <= 1 and cons["confusion"]["columns"][-1] == "(missed)"
    assert cons["micro_f1_ci"][0] <= cons["micro_f1"] <= cons["micro_f1_ci"][1]
    assert any("overstates" in n for n in data["notes"])  # simulated annotators lean on the pre-labels
    from workbench.cli.campaign import print_prelabel_line

    runner = CliRunner()
    import click

    @click.command()
    def show():
        print_prelabel_line(data)

    line = runner.invoke(show).output
    assert line.startswith("pre-labels vs consensus: span F1 ") and "; vs gold: " in line


@pytest.mark.parametrize("args, expected", [
    (["--predictions", "nowhere.csv"], "nowhere.csv: no such predictions file"),
    ([], "give --predictions FILE or --prelabels"),
    (["--prelabels", "--predictions", "x.csv"], "give --predictions FILE or --prelabels"),
    (["--prelabels", "--bins", "0"], "--bins: expected 1 or more"),
    (["--prelabels", "--resamples", "-1"], "--resamples: expected 0 or more"),
])
def test_evaluate_bad_input_is_one_line(tmp_path, home, args, expected):
    _campaign(tmp_path, home)
    result = run("evaluate", "ev", *args, home=home)
    assert result.exit_code == 1, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_evaluate_refuses_predictions_for_units_the_campaign_lacks(tmp_path, home):
    _campaign(tmp_path, home)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"unit": "sentiment-nope", "label": "neutral"}\n', "utf-8")
    result = run("evaluate", "ev", "--predictions", str(bad), home=home)
    assert result.exit_code == 1 and "line 1: unit 'sentiment-nope' is not a unit of the campaign" in result.output
    assert "Traceback" not in result.output
    nobody = run("evaluate", "nosuch", "--prelabels", home=home)
    assert nobody.exit_code == 1 and "no campaign 'nosuch'" in nobody.output


def test_the_demo_scores_each_pre_labeler(tmp_path, home):
    folder = tmp_path / "campaigns"
    write_spec(folder, name="tiny", task_type="claims", documents=str(ARTICLES / "000_*.txt"))
    result = run("demo", "--campaigns", str(folder), "--backend", "local", home=home)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("pre-labels vs consensus: accuracy "))
    assert "macro-F1" in line and "; vs gold: the campaign has no gold labels" in line
    page = (home / "reports" / "tiny.html").read_text("utf-8")
    assert 'id="evaluations"' in page and "pre-labels" in page


def test_a_model_that_voted_in_the_consensus_is_said_to(tmp_path, home):
    spec = write_spec(tmp_path, name="voted", task_type="claims", documents=str(ARTICLES / "000_*.txt"),
                      extra="[models]\nprelabels = true\n")
    assert run("run", str(spec), "--until", "agreement", home=home).exit_code == 0
    result = run("evaluate", "voted", "--prelabels", "--json", "--resamples", "0", home=home)
    assert result.exit_code == 0, result.output
    assert any("votes in the campaign's aggregation" in n for n in json.loads(result.output)["notes"])
