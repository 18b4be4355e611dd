"""The whole spec is checked before any step runs and before the store is touched (issue 9, finding 1):
mistakes that used to surface only at aggregate or export, after hours of labeling, are one line
naming the file and the field when the campaign is opened."""

import sys

import pytest
from click.testing import CliRunner

from workbench.cli import cli

from helpers import write_spec


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


def refused_up_front(tmp_path, home, extra, *needles):
    spec = write_spec(tmp_path, extra=extra)
    for command in ("run", "plan"):
        result = run(home, command, str(spec))
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert str(spec) in lines[0], lines[0]
        for needle in needles:
            assert needle in lines[0], lines[0]
    assert not (home / "workbench.db").exists()  # nothing was written, not even an empty store
    return lines[0]


@pytest.mark.parametrize("extra,needles", [
    ('[aggregate]\nmethod = "dawid_skene"\niterations = 5',
     ("aggregate.iterations", "unknown option for dawid_skene", "known: max_iter, tol")),
    ('[aggregate]\nmethod = "dawid_skene"\nmax_iter = 0', ("aggregate", "max_iter", ">= 1")),
    ('[aggregate]\nmethod = "mace"\nmethod_ = 1', ("aggregate.method_", "unknown option for mace")),
    ('[aggregate]\nmethod = "auto"\nmax_iter = 50', ("aggregate.max_iter", "need an explicit method")),
    ('[aggregate]\nmethod = "spans"', ("aggregate.method", "works on spans labels, not ordinal")),
    ('[export]\nsplit = [0.6, 0.4, 0.1]', ("export.split", "must sum to 1", "1.1")),
    ('[export]\nmin_confidence = 1.5', ("export.min_confidence", "from 0 to 1")),
    ('[export]\nmin_agreement = -0.1', ("export.min_agreement", "from 0 to 1")),
    ('[export]\ndrop_flagged = "yes"', ("export.drop_flagged", "true or false")),
    ('[export]\nmin_confidance = 0.5', ("export.min_confidance", "unknown field")),
    ('[backend]\nname = "local"\nurl = "http://x"', ("backend.url", "local backend takes no options")),
    ('[backend]\nname = "labelstudio"\nworkers = 0', ("backend.workers", "integer >= 1")),
    ('[backend]\nname = "labelstudio"\nurl = "ftp://x"\napi_key_env = "K"', ("backend.url", "http://")),
])
def test_mistakes_found_before_any_step(tmp_path, home, extra, needles):
    refused_up_front(tmp_path, home, extra, *needles)


def test_a_format_whose_extra_is_missing(tmp_path, home, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if `pip install workbench[hf]` was never run
    refused_up_front(tmp_path, home, '[export]\nformats = ["jsonl", "hf"]',
                     "export.formats", "'hf' needs the optional extra 'hf'", "pip install 'workbench[hf]'")


def test_a_lean_outside_the_labels(tmp_path, home):
    spec = write_spec(tmp_path, pool='[[annotators]]\nid = "eli"\npersona = "biased"\nlean = "ecstatic"\n'
                                      '[[annotators]]\npersona = "expert"\n[[annotators]]\npersona = "careful"\n')
    result = run(home, "run", str(spec))
    assert result.exit_code == 1 and "annotators[0].lean: 'ecstatic' is not a label" in result.output
    assert not (home / "workbench.db").exists()


def test_a_corrected_spec_is_taken_by_the_running_campaign(tmp_path, home):
    """The mistake no longer locks the campaign: fixing it is a new version of the same campaign."""
    spec = write_spec(tmp_path, extra='[aggregate]\nmethod = "dawid_skene"\nmax_iter = 50')
    assert run(home, "run", str(spec), "--until", "pull").exit_code == 0
    spec.write_text(spec.read_text().replace("max_iter = 50", "iterations = 5"))
    result = run(home, "aggregate", str(spec))
    assert result.exit_code == 1 and "aggregate.iterations: unknown option for dawid_skene" in result.output
    spec.write_text(spec.read_text().replace("iterations = 5", "max_iter = 80\ntol = 0.0001"))
    result = run(home, "run", str(spec))
    assert result.exit_code == 0, result.output
    status = run(home, "status", "c1", "--json")
    import json

    versions = json.loads(status.output)["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["changes"] == ["aggregate.max_iter: 50 -> 80", "aggregate.tol: (unset) -> 0.0001"]


def test_a_method_from_the_command_line_uses_its_own_defaults(tmp_path, home):
    spec = write_spec(tmp_path, extra='[aggregate]\nmethod = "dawid_skene"\nmax_iter = 50')
    assert run(home, "run", str(spec), "--until", "pull").exit_code == 0
    result = run(home, "aggregate", "c1", "--method", "majority", "--json")
    assert result.exit_code == 0, result.output  # was: aggregate option 'max_iter' is not known to majority
    import json

    assert json.loads(result.output)["method"] == "majority"
    result = run(home, "aggregate", "c1", "--method", "median")
    assert result.exit_code == 1 and "--method: unknown aggregator 'median'" in result.output
    assert run(home, "aggregate", "c1", "--json").exit_code == 0  # the spec's method and options again
