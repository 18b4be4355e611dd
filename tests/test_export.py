"""Export: records, pseudonyms, review flags, filters, every format, determinism, atomic writes."""

from __future__ import annotations

import csv
import json
import sys
import warnings

import pytest
from click.testing import CliRunner

from workbench.api import Exporter, hookimpl
from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.export import FIELDS, ExportSettings, apply_filters, resolve_settings
from workbench.export.records import REVIEW_REASONS, pseudonym, review_reasons
from workbench.models import Span
from workbench.spec import load_spec
from workbench.store import Store
from workbench.store.campaigns import pseudonym_key

from export_fixtures import PERSON, builtin_plugins, run_campaign, write_campaign


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One store with three aggregated campaigns: sentiment (with a person), claims, text (spans)."""
    root = tmp_path_factory.mktemp("export")
    home = root / "home"
    with builtin_plugins():
        run_campaign(write_campaign(root, "senti", "sentiment", person=True), home, person=True).store.close()
        run_campaign(write_campaign(root, "claims", "claims", documents="00[01]_*.txt"), home).store.close()
        run_campaign(write_campaign(root, "spans", "text", documents="00[01]_*.txt"), home).store.close()
    return home


def open_c(home, name) -> Campaign:
    return Campaign.open(name, Store(home))


def invoke(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def all_bytes(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- records ----------------------------------------------------------------------------------

def test_every_record_has_the_documented_fields_in_order(home):
    c = open_c(home, "senti")
    records = c.records()
    assert len(records) == len(c.units())
    for r in records:
        assert tuple(r) == FIELDS
        assert r["text"] == c.documents()[r["document_id"]].text[r["start"]:r["end"]]
        assert r["n_annotations"] == len(r["votes"]) and r["campaign"] == "senti"
        assert r["plugin"] == "sentiment" and r["plugin_version"] and r["method"] == "majority"
    assert {r["exported_at"] for r in records} == {max(a.updated_at for a in c.annotations())}


def test_votes_are_pseudonymous_and_no_email_or_name_is_exported(home, tmp_path):
    c = open_c(home, "senti")
    summary = c.export(("jsonl", "csv", "parquet", "hf"), str(tmp_path / "out"))
    ids = {a.id for a in c.spec.annotators}
    assert PERSON in ids
    voters = {v["annotator"] for r in c.records() for v in r["votes"]}
    assert len(voters) == len(ids) and all(v.startswith("ann-") and len(v) == 14 for v in voters)
    for name, data in all_bytes(tmp_path / "out").items():
        for needle in [PERSON, "maria", "lopez", "example.org", *[f'"{i}"' for i in ids]]:
            assert needle.encode() not in data, (name, needle)
    assert summary["card"].endswith("README.md")


def test_pseudonyms_use_a_secret_key_kept_in_the_store(home):
    store = Store(home)
    key = pseudonym_key(store)
    assert key == pseudonym_key(store) and len(key) == 32
    assert pseudonym(key, "senti", PERSON) != pseudonym(b"\0" * 32, "senti", PERSON)
    assert pseudonym(key, "senti", PERSON) != pseudonym(key, "claims", PERSON)  # not linkable across campaigns


@pytest.mark.parametrize("label, conf, n, tie, gold, expected", [
    ("a", 1.0, 3, False, None, []),
    ("a", 2 / 3, 3, False, "a", []),
    ("a", 0.5, 4, True, None, ["tie", "no_majority"]),
    ("a", 1 / 3, 3, False, "b", ["no_majority", "gold_mismatch"]),
    ("a", 1.0, 1, False, None, ["single_annotation"]),
    ((Span(0, 2, "ORG"),), 1.0, 3, False, (Span(0, 3, "ORG"),), ["gold_mismatch"]),
])
def test_review_reasons(label, conf, n, tie, gold, expected):
    assert review_reasons(label, conf, n, tie, gold) == expected
    assert set(expected) <= set(REVIEW_REASONS)


def test_records_are_flagged_consistently(home):
    records = open_c(home, "claims").records()
    assert any(r["review"] for r in records) and not all(r["review"] for r in records)
    for r in records:
        assert r["review"] == bool(r["review_reasons"])
        assert ("tie" in r["review_reasons"]) == r["tie"]
        if r["gold_label"] is not None:
            assert ("gold_mismatch" in r["review_reasons"]) == (r["gold_label"] != r["label"])


# -- filters ----------------------------------------------------------------------------------

def test_filters_keep_only_what_passes_and_count_what_they_removed(home):
    records = open_c(home, "claims").records()
    settings = ExportSettings(min_confidence=0.6, min_agreement=0.3, include_gold=False, drop_flagged=True)
    kept, log = apply_filters(records, settings)
    assert kept and len(kept) + sum(x["removed"] for x in log) == len(records)
    assert [x["filter"] for x in log] == ["confidence >= 0.6", "unit agreement >= 0.3", "no gold (honeypot) units",
                                          "no units flagged for review"]
    for r in kept:
        assert r["confidence"] >= 0.6 and r["agreement"] >= 0.3 and not r["is_gold"] and not r["review"]
    dropped = [r for r in records if r not in kept]
    assert all(r["confidence"] < 0.6 or r["agreement"] is None or r["agreement"] < 0.3 or r["is_gold"]
               or r["review"] for r in dropped)


def test_cli_filters_and_summary(home, tmp_path):
    out = tmp_path / "f"
    result = invoke(home, "export", "claims", "--out", str(out), "--exclude-gold", "--drop-flagged",
                    "--min-confidence", "0.6", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    lines = (out / "claims.jsonl").read_text("utf-8").splitlines()
    assert summary["records"] == len(lines) > 0
    assert sum(x["removed"] for x in summary["removed"]) == summary["aggregated"] - summary["records"]
    assert all(not json.loads(x)["review"] and not json.loads(x)["is_gold"] for x in lines)
    card = (out / "README.md").read_text("utf-8")
    assert "no units flagged for review" in card and "no gold (honeypot) units" in card


def test_filters_that_leave_nothing_write_nothing(tmp_path):
    spec = write_campaign(tmp_path, "single", "claims", documents="000_*.txt", gold_every=0, overlap=1)
    home = tmp_path / "h"
    run_campaign(spec, home).store.close()
    out = tmp_path / "none" / "deeper"
    # one annotation per unit: no unit has an agreement to pass the bar
    result = invoke(home, "export", "single", "--out", str(out), "--min-agreement", "0.5")
    assert result.exit_code == 1
    assert "leave no record" in result.output and "nothing written" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()


def test_filter_bars_outside_0_to_1_are_refused(home, tmp_path):
    out = tmp_path / "none"
    result = invoke(home, "export", "claims", "--out", str(out), "--min-agreement", "1.5")
    assert result.exit_code == 1 and "--min-agreement: expected a number from 0 to 1, got 1.5" in result.output
    assert not out.exists()


# -- formats ----------------------------------------------------------------------------------

def test_unknown_format_lists_the_known_ones(home, tmp_path):
    result = invoke(home, "export", "claims", "--format", "xlsx", "--out", str(tmp_path / "x"))
    assert result.exit_code == 1
    for known in ("csv", "hf", "jsonl", "parquet", "spacy"):
        assert known in result.output
    assert not (tmp_path / "x").exists()


def test_csv_has_every_field_and_nested_values_as_json(home, tmp_path):
    c = open_c(home, "spans")
    c.export(("csv", "jsonl"), str(tmp_path))
    rows = list(csv.DictReader(open(tmp_path / "spans.csv", encoding="utf-8")))
    jsonl = [json.loads(x) for x in open(tmp_path / "spans.jsonl", encoding="utf-8")]
    assert list(rows[0]) == list(FIELDS) and len(rows) == len(jsonl)
    for row, rec in zip(rows, jsonl):
        assert json.loads(row["label"]) == rec["label"] and json.loads(row["votes"]) == rec["votes"]


def test_parquet_round_trips_with_typed_columns(home, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    for name in ("spans", "senti"):
        c = open_c(home, name)
        c.export(("parquet", "jsonl"), str(tmp_path / name), split="0.5,0.25,0.25")
        table = pq.read_table(tmp_path / name / f"{name}.parquet")
        assert table.column_names == list(FIELDS)
        assert json.loads(table.schema.metadata[b"workbench"])["labels"] == list(c.task_type.schema.labels)
        jsonl = [json.loads(x) for x in open(tmp_path / name / f"{name}.jsonl", encoding="utf-8")]
        assert table.to_pylist() == jsonl


def test_hf_dataset_has_one_dataset_per_split(home, tmp_path):
    datasets = pytest.importorskip("datasets")
    c = open_c(home, "senti")
    c.export(("hf", "jsonl"), str(tmp_path), split=[0.5, 0.25, 0.25])
    ds = datasets.load_from_disk(str(tmp_path / "senti.hf"))
    jsonl = [json.loads(x) for x in open(tmp_path / "senti.jsonl", encoding="utf-8")]
    assert sorted(ds) == sorted({r["split"] for r in jsonl})
    for split in ds:
        assert ds[split].to_list() == [r for r in jsonl if r["split"] == split]
    c.export(("hf",), str(tmp_path / "whole"))  # no split: one Dataset
    assert len(datasets.load_from_disk(str(tmp_path / "whole" / "senti.hf"))) == len(jsonl)


def test_spacy_offsets_load_in_spacy(home, tmp_path):
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin
    from spacy.training import Example

    c = open_c(home, "spans")
    c.export(("spacy", "jsonl"), str(tmp_path))
    lines = [json.loads(x) for x in open(tmp_path / "spans.spacy.jsonl", encoding="utf-8")]
    records = [json.loads(x) for x in open(tmp_path / "spans.jsonl", encoding="utf-8")]
    nlp = spacy.blank("en")
    db = DocBin()
    n_spans = 0
    for line, rec in zip(lines, records):
        assert line["text"] == rec["text"] and line["meta"]["unit_id"] == rec["unit_id"]
        assert line["spans"] == rec["label"]
        n_spans += len(line["spans"])
        doc = nlp.make_doc(line["text"])
        ents = sorted(line["entities"])
        assert all(a[1] <= b[0] for a, b in zip(ents, ents[1:])), "entities must not overlap"
        for start, end, label in line["entities"]:
            assert doc.char_span(start, end, label=label, alignment_mode="expand") is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spaCy warns (W030) about offsets its tokenizer cannot align
            example = Example.from_dict(doc, {"entities": line["entities"]})
        db.add(example.reference)
    assert n_spans > 0 and len(db) == len(lines)
    c2 = open_c(home, "claims")
    c2.export(("spacy",), str(tmp_path / "cats"))
    cats = [json.loads(x)["cats"] for x in open(tmp_path / "cats" / "claims.spacy.jsonl", encoding="utf-8")]
    assert all(sorted(x) == sorted(c2.task_type.schema.labels) and sum(x.values()) == 1.0 for x in cats)


# -- determinism and atomicity ----------------------------------------------------------------

def test_exporting_the_same_state_twice_gives_identical_files(home, tmp_path):
    formats = ("jsonl", "csv", "parquet", "hf")
    c = open_c(home, "senti")
    c.export(formats, str(tmp_path / "a"), split="0.5,0.25,0.25")
    c.aggregate()  # same annotations: the same state, though the step ran again
    c.agreement()
    open_c(home, "senti").export(formats, str(tmp_path / "b"), split="0.5,0.25,0.25")
    a, b = all_bytes(tmp_path / "a"), all_bytes(tmp_path / "b")
    assert sorted(a) == sorted(b) and "README.md" in a and "senti.hf/dataset_dict.json" in a
    assert a == b
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]


def test_a_new_annotation_moves_the_state_time(tmp_path):
    spec = write_campaign(tmp_path, "moving", "sentiment", documents="000_*.txt", gold_every=0)
    c = run_campaign(spec, tmp_path / "h")
    before = c.records()[0]["exported_at"]
    with c.store.transaction() as db:
        db.execute("UPDATE local_results SET updated_at='2999-01-01T00:00:00+00:00' WHERE (unit, annotator_id)="
                   "(SELECT unit, annotator_id FROM local_results ORDER BY unit, annotator_id LIMIT 1)")
    c.pull()
    c.aggregate()
    assert c.records()[0]["exported_at"] == "2999-01-01T00:00:00+00:00" != before


class Broken:
    """An exporter that writes half a file and fails: nothing of the export may remain."""

    @staticmethod
    @hookimpl
    def register_exporters(register):
        def write(records, path, *, context):
            path.write_text("half", "utf-8")
            raise WorkbenchError("broken exporter failed on purpose")

        register(Exporter("broken", "broken", write, "fails after writing part of its file"))


def test_a_failing_format_writes_nothing_at_all(home, tmp_path, with_plugin):
    with_plugin(Broken)
    out = tmp_path / "new"
    result = invoke(home, "export", "claims", "--format", "jsonl", "--format", "broken", "--out", str(out))
    assert result.exit_code == 1 and "broken exporter failed on purpose" in result.output
    assert not out.exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "claims.jsonl").write_text("old", "utf-8")
    invoke(home, "export", "claims", "--format", "jsonl", "--format", "broken", "--out", str(tmp_path / "kept"))
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["claims.jsonl"]
    assert (tmp_path / "kept" / "claims.jsonl").read_text("utf-8") == "old"


def test_missing_optional_extra_names_it_and_writes_nothing(home, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if `datasets` were not installed
    result = invoke(home, "export", "claims", "--format", "jsonl", "--format", "hf", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "optional extra 'hf'" in result.output and "pip install 'workbench[hf]'" in result.output
    assert not (tmp_path / "o").exists()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = invoke(home, "export", "claims", "--format", "parquet", "--out", str(tmp_path / "p"))
    assert result.exit_code == 1 and "workbench[parquet]" in result.output


def test_unwritable_folder_is_one_clear_line(home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", "utf-8")
    out = blocker / "sub"
    result = invoke(home, "export", "claims", "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "is not writable" in result.output and str(out) in result.output and "is a file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(WorkbenchError, match="is not writable"):
        open_c(home, "claims").export(None, str(blocker))
    assert blocker.read_text("utf-8") == "x" and list(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize("value, message", [
    ("0.8,0.1,0.2", "must sum to 1"),
    ("0.8,0.2", "three ratios"),
    ("0.8,-0.1,0.3", "must be a number >= 0"),
    ("a,b,c", "three ratios like"),
    ("0,0.5,0.5", "train ratio must be above 0"),
])
def test_bad_split_ratios(home, tmp_path, value, message):
    result = invoke(home, "export", "claims", "--split", value, "--out", str(tmp_path / "s"))
    assert result.exit_code == 1 and message in result.output and "--split" in result.output
    assert not (tmp_path / "s").exists()


def test_bad_export_settings_in_the_spec_name_file_and_field(tmp_path):
    spec = write_campaign(tmp_path, "badspec", "claims", documents="000_*.txt", gold_every=0,
                          extra='[export]\nformats = ["jsonl"]\nsplit = [0.5, 0.6, 0.1]\n')
    with pytest.raises(WorkbenchError, match=r"badspec.toml: export.split: the ratios must sum to 1"):
        run_campaign(spec, tmp_path / "h")  # found when the spec is opened, before any step
    assert not (tmp_path / "h" / "workbench.db").exists()
    spec.write_text(spec.read_text("utf-8").replace("split = [0.5, 0.6, 0.1]", "min_confidance = 0.5"), "utf-8")
    with pytest.raises(WorkbenchError, match=r"badspec.toml: export.min_confidance: unknown field \(expected one of"):
        resolve_settings(load_spec(spec), {})
    spec.write_text(spec.read_text("utf-8").replace("min_confidance = 0.5", 'drop_flagged = "yes"'), "utf-8")
    with pytest.raises(WorkbenchError, match=r"export.drop_flagged: expected true or false, got 'yes'"):
        resolve_settings(load_spec(spec), {})


def test_data_card_tells_counts_filters_and_files(home, tmp_path):
    import hashlib

    c = open_c(home, "senti")
    summary = c.export(("jsonl", "parquet"), str(tmp_path), split="0.5,0.25,0.25", min_confidence=0.5)
    card = (tmp_path / "README.md").read_text("utf-8")
    records = [json.loads(x) for x in open(tmp_path / "senti.jsonl", encoding="utf-8")]
    for split in ("train", "dev", "test"):
        assert split in card
    units_row = next(line for line in card.splitlines() if line.startswith("| units |"))
    assert units_row == "| units | " + " | ".join(str(sum(r["split"] == s for r in records))
                                                   for s in ("train", "dev", "test") if any(r["split"] == s
                                                                                             for r in records)) + " |"
    for label in c.task_type.schema.labels:
        row = next(line for line in card.splitlines() if line.startswith(f"| `{label}` |"))
        assert int(row.split("|")[2]) == sum(r["label"] == label and r["split"] == "train" for r in records)
    assert "confidence >= 0.5" in card and f"{summary['aggregated']} aggregated units; {len(records)} exported" in card
    for name in ("senti.jsonl", "senti.parquet"):
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() in card
    assert "4 of the annotators are simulated" in card and "Known limitations" in card and "krippendorff_alpha" in card
    assert "person" in card and PERSON not in card


def test_run_writes_the_card_next_to_the_spec_formats(tmp_path):
    spec = write_campaign(tmp_path, "viaspec", "sentiment", documents="00[0-2]_*.txt",
                          extra='[export]\nformats = ["jsonl", "csv"]\nsplit = { train = 0.34, dev = 0.33, '
                                'test = 0.33 }\nsplit_seed = 3\n')
    result = CliRunner().invoke(cli(), ["--home", str(tmp_path / "h"), "run", str(spec)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "h" / "exports" / "viaspec"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "viaspec.csv", "viaspec.jsonl"]
    records = [json.loads(x) for x in open(folder / "viaspec.jsonl", encoding="utf-8")]
    docs = {}
    for r in records:
        docs.setdefault(r["document_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in docs.values()) and {s for v in docs.values() for s in v} == {"train", "dev", "test"}
    assert "seed 3" in (folder / "README.md").read_text("utf-8")


def test_docs_describe_every_field_format_and_review_reason():
    from pathlib import Path

    from workbench.export.card import FIELD_DOCS
    from workbench.registry import get_registry

    doc = (Path(__file__).resolve().parent.parent / "docs" / "export.md").read_text("utf-8")
    assert list(FIELD_DOCS) == list(FIELDS)
    for field in FIELDS:
        assert f"| `{field}` |" in doc, field
    for fmt in get_registry().names("exporters"):
        assert f"| `{fmt}`" in doc, fmt
    for reason in REVIEW_REASONS:
        assert f"- `{reason}`:" in doc, reason


class ListAndStream:
    """Two plugin formats: one as written before exporters could stream (it is handed a list of
    dicts, may change them and keep them), one that says ``streaming=True`` (it reads a sequence)."""

    seen: dict[str, object] = {}

    @staticmethod
    @hookimpl
    def register_exporters(register):
        def old_style(records, path, *, context):
            assert type(records) is list and all(type(r) is dict for r in records)
            ListAndStream.seen["old"] = records
            records.sort(key=lambda r: r["unit_id"], reverse=True)  # a list: the plugin may do as it likes
            records[0]["mine"] = True
            path.write_text("".join(r["unit_id"] + "\n" for r in records), "utf-8")

        def streaming(records, path, *, context):
            assert not isinstance(records, list)
            ListAndStream.seen["new"] = (len(records), records[0], records[-1], records[1:3],
                                         [r["unit_id"] for r in records], [r["unit_id"] for r in records])
            records[0]["changed"] = True  # a fresh dict on every read: changes nothing
            assert "changed" not in records[0]
            path.write_text("".join(r["unit_id"] + "\n" for r in records), "utf-8")

        register(Exporter("oldlist", "old.txt", old_style, "a list-taking plugin format"))
        register(Exporter("streamed", "new.txt", streaming, "a streaming plugin format", streaming=True))


def test_list_and_streaming_exporter_plugins_get_the_same_records(home, tmp_path, with_plugin):
    with_plugin(ListAndStream)
    out = tmp_path / "both"
    result = invoke(home, "export", "claims", "--format", "oldlist", "--format", "streamed", "--format", "jsonl",
                    "--split", "0.6,0.2,0.2", "--out", str(out))
    assert result.exit_code == 0, result.output
    jsonl = [json.loads(line) for line in (out / "claims.jsonl").read_text("utf-8").splitlines()]
    old = ListAndStream.seen["old"]
    n, first, last, middle, ids, again = ListAndStream.seen["new"]
    assert n == len(jsonl) == len(old) > 3 and ids == again == [r["unit_id"] for r in jsonl]
    assert first == jsonl[0] and last == jsonl[-1] and middle == jsonl[1:3]
    assert {r["split"] for r in jsonl} == {"train", "dev"}  # two documents
    assert sorted(old, key=lambda r: r["unit_id"]) == sorted(
        [{**r, "mine": True} if r["unit_id"] == max(ids) else r for r in jsonl], key=lambda r: r["unit_id"])
    assert (out / "claims.old.txt").read_text("utf-8").split() == sorted(ids, reverse=True)
    assert (out / "claims.new.txt").read_text("utf-8").split() == ids


def test_records_as_a_sequence_are_the_records_as_a_list(home):
    from workbench.steps import export as export_step

    c = open_c(home, "claims")
    ctx = c.context()
    listed = export_step.records(ctx)
    seq = export_step.record_set(ctx)
    assert len(seq) == len(listed) > 4 and list(seq) == listed and list(seq) == listed
    assert seq[0] == listed[0] and seq[-1] == listed[-1] and seq[2:4] == listed[2:4] and seq[::-3] == listed[::-3]
    with pytest.raises(IndexError):
        seq[len(listed)]
    picked = seq.select([3, 1])
    assert list(picked) == [listed[3], listed[1]]
    split = picked.with_splits(["dev", "test"])
    assert [r["split"] for r in split] == ["dev", "test"] and [r["unit_id"] for r in split] == [
        listed[3]["unit_id"], listed[1]["unit_id"]]
    assert list(split.fields("unit_id", "split")) == [(listed[3]["unit_id"], "dev"), (listed[1]["unit_id"], "test")]
    settings = resolve_settings(ctx.spec, {"min_confidence": 0.7, "drop_flagged": True})
    kept_list, log_list = apply_filters(listed, settings)
    kept_seq, log_seq = apply_filters(seq, settings)
    assert list(kept_seq) == kept_list and log_seq == log_list and any(x["removed"] for x in log_list)


def _selections(home, name: str):
    """The campaign's context, the export settings (``min_confidence`` 0.6) and four selections of its
    records: all, kept by the filters, those split train/dev/test in turn, and records 3, 1 and 0."""
    from workbench.steps import export as export_step

    ctx = open_c(home, name).context()
    seq = export_step.record_set(ctx)
    settings = resolve_settings(ctx.spec, {"min_confidence": 0.6})
    kept, _ = apply_filters(seq, settings)
    n = len(kept)
    return ctx, settings, {"all": seq, "kept": kept, "split": kept.with_splits((["train", "dev", "test"] * n)[:n]),
                           "picked": seq.select([3, 1, 0])}


@pytest.mark.parametrize("name", ["senti", "claims", "spans"])
def test_detached_records_are_the_same_records_made_from_their_columns(home, name):
    """After :meth:`Records.detach` (the export lets go of the units' votes and consensus rows) every
    selection gives the same records, fields and voted units, each record's lists and dicts its own."""
    _, settings, selections = _selections(home, name)
    seq, kept, split, picked = (selections[k] for k in ("all", "kept", "split", "picked"))
    n = len(kept)
    before = {"all": list(seq), "kept": list(kept), "split": list(split), "picked": list(picked)}
    fields = list(split.fields("unit_id", "split", "votes"))
    voted = seq.voted_units()
    assert voted and 0 < n < len(seq)
    split.detach()  # any selection: every selection of the same records is detached
    split.detach()  # twice is once
    after = {"all": list(seq), "kept": list(kept), "split": list(split), "picked": list(picked)}
    assert after == before
    assert list(split.fields("unit_id", "split", "votes")) == fields and seq.voted_units() == voted
    assert seq[0] == before["all"][0] and seq[2:4] == before["all"][2:4] and len(seq) == len(before["all"])
    later = seq.select([1, 0]).with_splits(["dev", "test"])  # selections made after detach
    assert list(later) == [{**before["all"][1], "split": "dev"}, {**before["all"][0], "split": "test"}]
    assert list(apply_filters(seq, settings)[0]) == before["kept"]
    one, again = seq[0], seq[0]
    for key, value in one.items():
        if isinstance(value, (list, dict)):
            assert value is not again[key]
    if one["votes"]:
        one["votes"][0]["annotator"] = "changed"
        one["votes"].append({"annotator": "x", "label": "y"})
    one["review_reasons"].append("changed")
    assert seq[0] == before["all"][0] and list(seq) == before["all"]  # changing a record changes nothing


def test_voted_units_after_detach_keep_units_with_votes_and_no_record():
    """A unit with counted votes but no consensus row (not aggregated) stays a voted unit after detach."""
    import pandas as pd

    from workbench.export.records import CountedVotes, Records
    from workbench.models import Document, Unit

    doc = Document("d1", "Doc", "src", "one two three", "sha")
    units = [Unit(f"u{i}", "claims", "d1", 0, 3, "one") for i in range(3)]
    rows = [{"unit_id": u, "label": "yes", "confidence": 1.0, "n_annotations": 2, "agreement": 1.0, "method": "m",
             "tie": False} for u in ("u0", "u2")]
    table = pd.DataFrame({"unit": ["u2", "u1", "u0", "u2", "u0"], "annotator": ["b", "a", "b", "a", "a"],
                          "label": ["yes", "no", "yes", "yes", "yes"]})
    votes = CountedVotes(table, {"a": "ann-a", "b": "ann-b"})
    assert votes.of("u2") == [{"annotator": "ann-b", "label": "yes"}, {"annotator": "ann-a", "label": "yes"}]
    assert votes.of("u9") == [] and votes.units() == {"u0", "u1", "u2"}
    assert votes.sorted_lists(["u2", "u9", "u0"]) == [[{"annotator": "ann-a", "label": "yes"},
                                                       {"annotator": "ann-b", "label": "yes"}], [],
                                                      [{"annotator": "ann-a", "label": "yes"},
                                                       {"annotator": "ann-b", "label": "yes"}]]
    seq = Records(units, {"d1": doc}, rows, votes, campaign="c", task_type="claims", plugin="p",
                  plugin_version=None, as_of=None)
    made = list(seq)
    assert [r["unit_id"] for r in made] == ["u0", "u2"] and seq.voted_units() == {"u0", "u1", "u2"}
    seq.detach()
    assert list(seq) == made and seq.voted_units() == {"u0", "u1", "u2"}


@pytest.mark.parametrize("name", ["senti", "claims", "spans"])
def test_columns_are_the_records_and_the_formats_write_the_same_bytes_from_them(home, tmp_path, name):
    """The built-in writers lay out a :class:`Records` selection from its columns; given the same
    records as a list (record by record, as before) every file has the same bytes."""
    from workbench.export.arrow import write_hf, write_parquet
    from workbench.export.context import ExportContext
    from workbench.export.formats import write_csv, write_jsonl, write_spacy

    ctx, settings, selections = _selections(home, name)
    for label, sel in ((k, selections[k]) for k in ("all", "split", "picked")):
        columns = sel.columns()
        assert list(columns) == list(FIELDS)
        assert [dict(zip(FIELDS, row)) for row in zip(*columns.values())] == list(sel), label
        context = ExportContext(campaign=name, schema=ctx.task_type.schema, settings=settings, task_type=ctx.spec.task_type)
        for write, suffix in ((write_jsonl, "jsonl"), (write_csv, "csv"), (write_parquet, "parquet"),
                              (write_hf, "hf"), (write_spacy, "spacy.jsonl")):
            streamed, listed = tmp_path / f"{label}-s.{suffix}", tmp_path / f"{label}-l.{suffix}"
            write(sel, streamed, context=context)
            write(list(sel), listed, context=context)
            if streamed.is_dir():
                assert all_bytes(streamed) == all_bytes(listed), (label, suffix)
            else:
                assert streamed.read_bytes() == listed.read_bytes(), (label, suffix)


def test_json_and_csv_laid_out_by_column_are_json_dumps_and_csv_cell():
    import numpy as np

    from workbench.export.columns import csv_cell, csv_cells, json_values

    shared = [{"annotator": "ann-1", "label": "pos"}, {"annotator": "ann-0", "label": ["a", "b"]}]
    values = ["plain", "quote \" and \\ back", "tab\tnew\nline", "ünïcödé ✓ \u2028 \x00", "=SUM(A1)", "-3", "", "@x",
              0, -7, 2**70, True, False, None, 0.1, 1e-07, 1e20, -0.0, 0.897393, float("nan"), float("inf"),
              float("-inf"), np.float64(0.25), shared, shared, [], {"b": 1, "a": [None, 1.5]},
              [{"start": 3, "end": 5, "label": "ORG"}], ("t", 1)]
    for sort_keys in (False, True):
        memo: dict = {}
        assert json_values(values, sort_keys, memo) == [
            json.dumps(v, ensure_ascii=False, sort_keys=sort_keys) for v in values]
    assert csv_cells(values, {}) == [csv_cell(v) for v in values]


def test_csv_lines_laid_out_by_column_are_what_csv_writer_writes():
    """The CSV export lays out its lines itself (twice as fast as ``csv.writer`` on a million rows):
    every cell as the writer writes it in a row, whatever character a text holds, every type."""
    import io

    import numpy as np

    from workbench.export.columns import CSV_QUOTED, csv_cell, csv_lines, csv_text, csv_texts

    assert CSV_QUOTED is not None and set(CSV_QUOTED) == {",", '"', "\n"}

    def written(rows: list[list]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()

    # each of the first 512 characters inside a text and alone; every other character of Unicode (but
    # surrogates) in texts of 4096 characters each (one that made the writer quote would show)
    texts = [f"a{chr(c)}b" for c in range(512)] + [chr(c) for c in range(512)]
    texts += ["a" + "".join(chr(c) for c in range(start, min(start + 4096, 0x110000)) if not 0xD800 <= c < 0xE000) + "b"
              for start in range(512, 0x110000, 4096)]
    texts += ["", " ", '"', '""x"', "a,b", "x\r\ny", "=1", "-2", "@a", "\tt"]
    cells = [csv_cell(t) for t in texts]
    assert "".join(f"{text},\n" for text in csv_texts(texts, {})) == written([[c, ""] for c in cells])
    shared = [{"annotator": "ann-1", "label": "pos"}, {"annotator": "ann-0", "label": ["a", "b, \"c\""]}]
    values = ["plain", "quote \" and \\ back", "tab\tnew\nline", "ünïcödé ✓ \u2028 \x00", "=SUM(A1)", "-3", "", "@x",
              0, -7, 2**70, True, False, None, 0.1, 1e-07, 1e20, -0.0, 0.897393, float("nan"), float("inf"),
              float("-inf"), np.float64(0.25), np.int64(3), shared, shared, [], {"b": 1, "a": [None, 1.5]},
              [{"start": 3, "end": 5, "label": "ORG"}], ("t", 1)]
    assert [csv_text(csv_cell(v)) + "," for v in values] == [written([[csv_cell(v), ""]])[:-1] for v in values]
    columns = {name: [] for name in FIELDS}
    for k in range(2500):  # three blocks; columns of one type, of mixed types, of shared values
        for j, name in enumerate(FIELDS):
            columns[name].append(values[(k * 7 + j) % len(values)] if j % 3 else texts[(k * 131 + j) % len(texts)])
    columns["split"] = [None] * 2500
    columns["confidence"] = [k / 7 for k in range(2500)]
    columns["agreement"] = [None if k % 5 else k / 3 for k in range(2500)]
    columns["tie"] = [k % 2 == 0 for k in range(2500)]
    rows = [[csv_cell(columns[name][k]) for name in FIELDS] for k in range(2500)]
    assert "".join(csv_lines(columns)) == written(rows)
