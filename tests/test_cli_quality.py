"""`workbench aggregate / agreement / annotators` on label files and on campaigns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import cli

from benchmarks.crowd import make_crowd
from helpers import write_spec


def run(*args, home=None):
    base = ["--home", str(home)] if home else []
    return CliRunner().invoke(cli(), [*base, *args])


@pytest.fixture
def crowd_files(tmp_path):
    crowd = make_crowd(n_tasks=600, n_workers=12, n_classes=3, overlap=5, spammers=0.25, seed=8)
    csv = tmp_path / "labels.csv"
    crowd.table.to_csv(csv, index=False)  # crowd-kit's column names: task, worker, label
    parquet = tmp_path / "labels.parquet"
    crowd.long_table().to_parquet(parquet)
    gold = tmp_path / "gold.csv"
    crowd.truth.iloc[:60].rename_axis("unit").reset_index().rename(columns={"truth": "label"}).to_csv(gold, index=False)
    return crowd, csv, parquet, gold


def test_aggregate_a_csv_file_writes_every_label(crowd_files, tmp_path):
    crowd, csv, _, gold = crowd_files
    out = tmp_path / "out" / "consensus.csv"
    result = run("aggregate", str(csv), "--method", "dawid_skene", "--gold", str(gold), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "method=dawid_skene, units=600, annotations=3000, annotators=12" in result.output
    assert "60 gold unit(s) clamped" in result.output
    got = pd.read_csv(out)
    assert list(got.columns) == ["unit", "label", "confidence", "n_annotations", "p_c0", "p_c1", "p_c2"]
    assert len(got) == 600 and (got["n_annotations"] == 5).all()
    accuracy = (got.set_index("unit")["label"] == crowd.truth.reindex(got["unit"]).to_numpy()).mean()
    assert accuracy > 0.85
    assert [p.name for p in out.parent.iterdir()] == ["consensus.csv"]  # no temp file left behind


def test_aggregate_a_parquet_file_picks_a_method_and_previews(crowd_files):
    _, _, parquet, _ = crowd_files
    result = run("aggregate", str(parquet), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["method"] == "dawid_skene" and summary["notes"][1].startswith("auto: picked dawid_skene")
    result = run("aggregate", str(parquet), "--method", "majority")
    assert result.exit_code == 0, result.output
    assert "first 20 of 600 units (--out FILE writes them all)" in result.output


def test_agreement_and_annotators_on_a_file(crowd_files):
    crowd, csv, _, gold = crowd_files
    result = run("agreement", str(csv), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["metrics"]) >= {"krippendorff_alpha", "fleiss_kappa", "gwet_ac1", "cohen_kappa",
                                      "percent_agreement", "disputed_units"}
    kappa = report["metrics"]["cohen_kappa"]["detail"]
    assert set(kappa) == {f"w{i}" for i in range(12)} and kappa["w0"]["w0"] == 1.0
    assert report["disputed"]["units_with_pairs"] == 600
    result = run("annotators", str(csv), "--gold", str(gold), "--json")
    assert result.exit_code == 0, result.output
    rows = {r["annotator"]: r for r in json.loads(result.output)}
    spammers = {f"w{i}" for i, k in enumerate(crowd.kind) if k == "spammer"}
    flagged = {a for a, r in rows.items() if r["flags"]}
    assert spammers <= flagged
    assert set(rows["w0"]["confusion"]) == {"c0", "c1", "c2"}
    table = run("annotators", str(csv))
    assert table.exit_code == 0 and "flagged: " in table.output and "spammer" in table.output


def test_ordinal_file_with_a_scale(tmp_path):
    path = tmp_path / "scores.tsv"
    rows = ["unit\tannotator\tlabel"] + [f"u{u}\ta{a}\t{['low', 'mid', 'high'][(u + (a == 2)) % 3]}"
                                          for u in range(30) for a in range(3)]
    path.write_text("\n".join(rows) + "\n")
    result = run("agreement", str(path), "--kind", "ordinal", "--labels", "low,mid,high", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    assert metrics["krippendorff_alpha_ordinal"]["value"] is not None
    assert "scale positions" in metrics["krippendorff_alpha_interval"]["note"]
    result = run("agreement", str(path), "--kind", "ordinal")
    assert result.exit_code == 1 and "--kind ordinal needs --labels in scale order" in result.output


@pytest.mark.parametrize("content, message", [
    ("unit,annotator,label\nu1,a,x\nu1,b,\n", "row 2 (unit 'u1', annotator 'b'): label is missing (NaN)"),
    ("unit,annotator,label\nu1,a,x\nu1,b,y\n", "row 2 (unit 'u1', annotator 'b'): label 'y' is not one of ['x', 'z']"),
    ("unit,label\nu1,x\n", "missing column(s) annotator: expected unit, annotator, label"),
    ("task,worker,label\n", "no rows"),
    ("unit,annotator,label\nu1,a,x\nu1,a,z\n", "row 2: annotator 'a' labeled unit 'u1' more than once"),
])
@pytest.mark.parametrize("command", ["aggregate", "agreement", "annotators"])
def test_bad_label_files_are_one_line_errors(tmp_path, content, message, command):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run(command, str(path), "--labels", "x,z")
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"Error: {path}: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_missing_and_unreadable_files(tmp_path):
    result = run("aggregate", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and result.output.strip() == f"Error: {tmp_path / 'nope.csv'}: no such file"
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    result = run("agreement", str(junk))
    assert result.exit_code == 1 and "cannot read as parquet" in result.output
    good = tmp_path / "ok.csv"
    good.write_text("unit,annotator,label\nu1,a,x\nu1,b,x\n")
    result = run("aggregate", str(good), "--out", str(tmp_path / "out.txt"))
    assert result.exit_code == 1 and "expected a .csv, .tsv or .parquet file name" in result.output
    assert not (tmp_path / "out.txt").exists()


def test_everyone_agrees_file_says_why_alpha_is_undefined(tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("unit,annotator,label\n" + "".join(f"u{u},a{a},yes\n" for u in range(4) for a in range(3)))
    result = run("agreement", str(path), "--labels", "yes,no", "--json")
    assert result.exit_code == 0, result.output
    alpha = json.loads(result.output)["metrics"]["krippendorff_alpha"]
    assert alpha["value"] is None and "no variation" in alpha["note"]
    text = run("agreement", str(path), "--labels", "yes,no")
    assert "krippendorff_alpha=n/a" in text.output and "nan" not in text.output.lower()


def test_campaign_agreement_and_annotators(tmp_path, home):
    spec = str(write_spec(tmp_path, name="q1"))
    assert run("run", spec, "--until", "aggregate", home=home).exit_code == 0
    early = run("annotators", "q1", home=home)
    assert early.exit_code == 0, early.output  # aggregate has run
    result = run("agreement", "q1", home=home)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("agreement: ") and "disputed units" in result.output
    result = run("annotators", "q1", "--json", home=home)
    assert result.exit_code == 0, result.output
    rows = {r["annotator"]: r for r in json.loads(result.output)}
    assert set(rows) == {"ana", "ben", "dev", "sam"}
    assert rows["sam"]["spammer_score"] < rows["ana"]["spammer_score"]
    assert rows["sam"]["flags"]


def test_annotators_needs_an_aggregate_first(tmp_path, home):
    spec = str(write_spec(tmp_path, name="q2"))
    assert run("run", spec, "--until", "pull", home=home).exit_code == 0
    result = run("annotators", "q2", home=home)
    assert result.exit_code == 1 and "run `aggregate` before `annotators`" in result.output
