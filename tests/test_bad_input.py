"""Every bad input gets one clear line, a non-zero exit, and leaves the store as it was."""

import json

import pytest
from click.testing import CliRunner

from workbench.cli import cli

from helpers import ARTICLES, dump_store, write_spec


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


@pytest.fixture
def planned(tmp_path, home):
    """A store that already holds a planned campaign, so we can see a failure leaves it untouched."""
    spec = write_spec(tmp_path / "ok", name="existing")
    assert run(home, "run", str(spec)).exit_code == 0
    return dump_store(home)


def check_fails(home, before, args, *needles):
    result = run(home, *args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert dump_store(home) == before
    return lines[0]


def test_malformed_toml_names_the_line(tmp_path, home, planned):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "x"\ntask_type = "sentiment"\noverlap = = 3\n')
    check_fails(home, planned, ["run", str(spec)], "bad.toml", "malformed TOML", "line 3")


@pytest.mark.parametrize("extra,field,known", [
    ('[aggregate]\nmethod = "median"', "aggregate.method", "majority"),
    ('[backend]\nname = "mturk"', "backend.name", "local"),
    ('[export]\nformats = ["xlsx"]', "export.formats", "jsonl"),
])
def test_unknown_names_list_the_known_ones(tmp_path, home, planned, extra, field, known):
    spec = write_spec(tmp_path, extra=extra)
    check_fails(home, planned, ["run", str(spec)], field, "known:", known)


def test_unknown_task_type(tmp_path, home, planned):
    spec = write_spec(tmp_path, task_type="poetry")
    check_fails(home, planned, ["run", str(spec)], "task_type", "unknown task type 'poetry'", "sentiment")


def test_unknown_persona(tmp_path, home, planned):
    spec = write_spec(tmp_path, pool='[[annotators]]\npersona = "oracle"', overlap=1)
    check_fails(home, planned, ["run", str(spec)], "annotators[0].persona", "oracle", "expert")


def test_glob_matching_nothing(tmp_path, home, planned):
    spec = write_spec(tmp_path, documents=str(tmp_path / "none" / "*.txt"))
    check_fails(home, planned, ["run", str(spec)], "matches no file")


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"some text\x00\x01binary", "binary"),
    (b"caf\xe9 au lait", "not UTF-8"),
])
def test_bad_documents(tmp_path, home, planned, content, needle):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("A fine sentence. Another one.")
    (docs / "bad.txt").write_bytes(content)
    spec = write_spec(tmp_path, documents=str(docs / "*.txt"))
    check_fails(home, planned, ["run", str(spec)], "bad.txt", needle)


def test_gold_with_unknown_unit(tmp_path, home, planned):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"unit_id": "sentiment-0000000000000000", "label": "neutral"}) + "\n")
    spec = write_spec(tmp_path, gold=f'[gold]\nfile = "{gold}"\nrate = 0.1')
    check_fails(home, planned, ["run", str(spec)], "gold.jsonl:1", "not a unit of this campaign")


def test_gold_with_label_outside_schema(tmp_path, home, planned):
    first = (ARTICLES / "000_d369bcd6a49f9c65.txt").read_text().splitlines()[0].strip()
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n" + json.dumps({"document": "000_d369bcd6a49f9c65", "text": first, "label": "ecstatic"}) + "\n")
    spec = write_spec(tmp_path, gold=f'[gold]\nfile = "{gold}"\nrate = 0.1')
    check_fails(home, planned, ["run", str(spec)], "gold.jsonl:2", "label", "'ecstatic' is not one of")


def test_overlap_larger_than_pool(tmp_path, home, planned):
    spec = write_spec(tmp_path, overlap=5)
    check_fails(home, planned, ["run", str(spec)], "overlap", "only 4")


def test_overlap_below_one(tmp_path, home, planned):
    spec = write_spec(tmp_path, overlap=0)
    check_fails(home, planned, ["run", str(spec)], "overlap", "at least 1")


def test_unknown_field_is_named(tmp_path, home, planned):
    spec = write_spec(tmp_path, extra="overlapp = 2")
    check_fails(home, planned, ["run", str(spec)], "overlapp", "unknown field")


def test_wrong_type_is_named(tmp_path, home, planned):
    spec = tmp_path / "t.toml"
    spec.write_text(write_spec(tmp_path).read_text().replace("overlap = 3", 'overlap = "three"'))
    check_fails(home, planned, ["run", str(spec)], "overlap", "expected int", "'three'")


def test_another_identity_under_a_running_campaign_name_is_refused(tmp_path, home, planned):
    spec = write_spec(tmp_path / "other", name="existing", documents=str(ARTICLES / "00[23]_*.txt"))
    check_fails(home, planned, ["run", str(spec)], "documents: changed after campaign 'existing' handed out work",
                "start a new campaign")
    spec = write_spec(tmp_path / "other", name="existing", task_type="claims")
    check_fails(home, planned, ["run", str(spec)], "task_type: changed", "was 'sentiment', now 'claims'")


def test_lowering_the_overlap_of_a_running_campaign_is_refused(tmp_path, home, planned):
    spec = write_spec(tmp_path / "other", name="existing", overlap=2)
    check_fails(home, planned, ["run", str(spec)], "overlap: lowered from 3 to 2", "can only go up")


def test_same_spec_again_is_fine(tmp_path, home, planned):
    spec = write_spec(tmp_path / "ok", name="existing")
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    assert dump_store(home) != []


def test_step_out_of_order_says_what_to_run(tmp_path, home):
    spec = write_spec(tmp_path)
    assert run(home, "plan", str(spec)).exit_code == 0
    result = run(home, "aggregate", str(spec))
    assert result.exit_code == 1 and "run `pull` before `aggregate`" in result.output


def test_unknown_campaign_name(home):
    result = run(home, "status", "ghost")
    assert result.exit_code == 1 and "no campaign 'ghost'" in result.output
