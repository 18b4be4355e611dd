"""The HTML report: what it contains, that it needs nothing from the network, and its bad input."""

from __future__ import annotations

import base64
import json
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.campaign import Campaign
from workbench.cli import cli
from workbench.errors import WorkbenchError
from workbench.models import LabelKind, LabelSchema, Span
from workbench.registry import get_registry
from workbench.report.data import confusion, label_counts
from workbench.report.pairwise import pairwise
from workbench.spec import load_spec
from workbench.store import Store
from workbench.table.score import span_f1

from export_fixtures import PERSON, builtin_plugins, run_campaign, write_campaign

FIGURES = ["annotators", "confidence", "confusion", "labels", "pairwise", "progress"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    home = root / "home"
    with builtin_plugins():
        run_campaign(write_campaign(root, "senti", "sentiment", person=True), home, person=True).store.close()
        run_campaign(write_campaign(root, "spans", "text", documents="00[01]_*.txt"), home).store.close()
        run_campaign(write_campaign(root, "nogold", "claims", documents="000_*.txt", gold_every=0), home).store.close()
    return home


class Resources(HTMLParser):
    """Every src/href in the page, and every figure's image."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.images: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in a.items() if k in ("src", "href") and v is not None]
        if tag == "img":
            self.images.append(a["src"])
        self.scripts += tag == "script"


def parse(path) -> Resources:
    r = Resources()
    r.feed(path.read_text("utf-8"))
    return r


@pytest.mark.parametrize("name", ["senti", "spans"])
def test_report_is_self_contained_with_every_figure(home, tmp_path, name):
    c = Campaign.open(name, Store(home))
    summary = c.report(tmp_path / f"{name}.html", top=5)
    assert summary["figures"] == FIGURES and summary["disputed_units"] == 5
    page = parse(tmp_path / f"{name}.html")
    assert page.scripts == 0
    assert all(u.startswith(("data:", "#")) for u in page.urls), [u for u in page.urls if not u.startswith("data:")]
    assert len(page.images) == len(FIGURES)
    for src in page.images:
        head, data = src.split(",", 1)
        assert head == "data:image/svg+xml;base64"
        svg = ET.fromstring(base64.b64decode(data))
        assert svg.tag.endswith("svg") and len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) > 10


def test_report_shows_what_it_promises(home, tmp_path):
    c = Campaign.open("senti", Store(home))
    path = tmp_path / "r.html"
    c.report(path)
    text = path.read_text("utf-8")
    for section in ("Progress", "Labels", "Annotators", "Pairwise agreement", "Consensus vs gold", "Confidence",
                    "Most disputed units", "Krippendorff"):
        assert section in text
    for annotator in ("ana", "ben", "dev", "sam"):
        assert f">{annotator}<" in text
    assert PERSON not in text and "maria" not in text  # a person's email shows as the export's pseudonym
    assert text.count('class="unit"') == 12


def test_the_same_state_gives_the_same_report(home, tmp_path):
    c = Campaign.open("spans", Store(home))
    c.report(tmp_path / "a.html")
    Campaign.open("spans", Store(home)).report(tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_without_gold_the_confusion_figure_is_replaced_by_a_sentence(home, tmp_path):
    summary = Campaign.open("nogold", Store(home)).report(tmp_path / "n.html")
    assert "confusion" not in summary["figures"]
    assert "No unit has a gold label" in (tmp_path / "n.html").read_text("utf-8")


def test_cli_report_default_path_and_json(home):
    result = CliRunner().invoke(cli(), ["--home", str(home), "report", "spans", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["path"] == str(home / "reports" / "spans.html") and summary["figures"] == FIGURES
    plain = CliRunner().invoke(cli(), ["--home", str(home), "report", "spans"])
    assert plain.exit_code == 0 and plain.output.startswith(f"report: {home / 'reports' / 'spans.html'}")


def test_report_bad_input(home, tmp_path):
    def run(*args):
        return CliRunner().invoke(cli(), ["--home", str(home), "report", *args])

    (tmp_path / "folder.html").mkdir()
    for args, message in [
        (["nope"], "no campaign 'nope'"),
        (["spans", "--top", "-1"], "--top: expected 0 or more"),
        (["spans", "--out", str(tmp_path / "folder.html")], "is a directory"),
    ]:
        result = run(*args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    result = run("spans", "--out", str(blocker / "r.html"))
    assert result.exit_code == 1 and "cannot write the report" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_report_before_aggregate_says_what_to_run(tmp_path):
    spec = write_campaign(tmp_path, "early", "sentiment", documents="000_*.txt", gold_every=0)
    c = Campaign(load_spec(spec), Store(tmp_path / "h"))
    c.run(until="pull")
    with pytest.raises(WorkbenchError, match=r"run `aggregate` before `report`"):
        c.report(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_missing_matplotlib_names_the_extra(home, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(WorkbenchError, match=r"optional extra 'report'.*pip install 'workbench\[report\]'"):
        Campaign.open("spans", Store(home)).report(tmp_path / "r.html")


# -- the numbers behind the figures -----------------------------------------------------------

def test_pairwise_matrix_agrees_with_the_registered_metric_and_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    rows = []
    for u in range(80):
        truth = rng.integers(3)
        for a in rng.choice(5, size=3, replace=False):
            rows.append((f"u{u}", f"a{a}", "abc"[truth if rng.random() < 0.7 else rng.integers(3)]))
    table = pd.DataFrame(rows, columns=["unit", "annotator", "label"])
    schema = LabelSchema(LabelKind.SINGLE, ("a", "b", "c"))

    from workbench.agreement.report import compute_metrics

    stored = compute_metrics(get_registry(), schema, table, details=True)  # as the agreement step stores them
    wide = table.pivot(index="unit", columns="annotator", values="label")
    # the stored matrix, or (a plugin replaced the metric with another shape) the report's own
    for metrics, source in ((stored, "metric cohen_kappa"), ({}, "computed in the report")):
        pw = pairwise(table, schema, metrics)
        assert pw.source == source
        for x in pw.values.index:
            assert pw.shared.loc[x, x] == wide[x].notna().sum() and pw.values.loc[x, x] == 1.0
            for y in pw.values.columns:
                if x == y:
                    continue
                both = wide[[x, y]].dropna()
                assert pw.shared.loc[x, y] == len(both)
                assert pw.values.loc[x, y] == pytest.approx(cohen_kappa_score(both[x], both[y]), abs=1e-6)  # stored: 6 places


def test_span_f1_hand_case():
    a = pd.Series([(Span(0, 4, "ORG"), Span(5, 9, "PERSON")), ()])
    b = pd.Series([(Span(0, 4, "ORG"),), (Span(1, 2, "DATE"),)])
    assert span_f1(a, b) == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert span_f1(pd.Series([()]), pd.Series([()])) == 1.0


def test_confusion_hand_cases():
    schema = ("pos", "neg")
    m = confusion(LabelKind.SINGLE, schema, {"u1": "pos", "u2": "neg", "u3": "pos"}, {"u1": "pos", "u2": "pos"})
    assert m.loc["pos", "pos"] == 1 and m.loc["pos", "neg"] == 1 and int(m.values.sum()) == 2
    spans = confusion(LabelKind.SPANS, ("ORG", "PERSON"),
                      {"u": (Span(0, 3, "ORG"), Span(4, 6, "ORG"), Span(8, 9, "PERSON"))},
                      {"u": (Span(0, 3, "ORG"), Span(4, 6, "PERSON"), Span(10, 12, "ORG"))})
    assert spans.loc["ORG", "ORG"] == 1 and spans.loc["PERSON", "ORG"] == 1
    assert spans.loc["ORG", "(missed)"] == 1 and spans.loc["(none)", "PERSON"] == 1
    assert confusion(LabelKind.SINGLE, schema, {"u1": "pos"}, {}) is None


def test_label_counts_hand_case():
    table = pd.DataFrame({"unit": ["u1", "u1", "u2"], "annotator": ["a", "b", "a"],
                          "label": [(Span(0, 1, "ORG"),), (), (Span(0, 1, "ORG"), Span(2, 3, "DATE"))]})
    counts = label_counts(LabelKind.SPANS, ("ORG", "DATE"), {"u1": (Span(0, 1, "ORG"),), "u2": ()}, table)
    assert counts.to_dict() == {"consensus": {"ORG": 1, "DATE": 0, "(none)": 1},
                                "votes": {"ORG": 2, "DATE": 1, "(none)": 1}}
