"""What an export must never do (issue 9): run text as HTML in the data card, hand a spreadsheet a
formula, overwrite someone's README.md, or leave a killed export's staging folder behind forever."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from workbench.cli import cli

from helpers import ROOT, pool

CROWD = pool(("ana", "expert"), ("ben", "careful"), ("sam", "spammer"))
EVIL_TITLE = "<svg onload=alert(1)> *Breaking* [news](javascript:alert(2))"
EVIL_DESCRIPTION = "Tricky <script>alert('x')</script>\n# not a heading\n| not | a table |"


def run(home, *args):
    return CliRunner().invoke(cli(), ["--home", str(home), *args])


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A campaign whose description, document title and sentences are hostile."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "doc1.txt").write_text(
        "Harmless opening sentence here.\n\n=HYPERLINK(\"http://x\",\"click\") is a formula. "
        "+1 dial this number now. -2+3 makes one. @SUM(A1:A9) sums a column. Plain ending sentence.\n",
        "utf-8")
    (docs / "index.toml").write_text(f'[doc1]\ntitle = {json.dumps(EVIL_TITLE)}\nsource = "<b>wire</b>"\n')
    spec = tmp_path / "hostile.toml"
    spec.write_text(f'name = "hostile"\ntask_type = "sentiment"\ndescription = {json.dumps(EVIL_DESCRIPTION)}\n'
                    f'documents = "docs/*.txt"\noverlap = 2\nseed = 3\n[export]\nformats = ["jsonl", "csv"]\n'
                    + CROWD, "utf-8")
    return spec


def test_the_data_card_shows_hostile_text_and_runs_none_of_it(hostile, home):
    assert run(home, "run", str(hostile)).exit_code == 0
    card = (home / "exports" / "hostile" / "README.md").read_text("utf-8")
    assert "<script" not in card and "<svg" not in card and "<b>" not in card
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(card)
    assert "<script" not in html and "<svg" not in html and "<b>" not in html and 'href="javascript' not in html
    assert "&lt;script>alert" in html or "&lt;script&gt;alert" in html  # shown as text, not dropped
    assert "<h1>not a heading</h1>" not in html and "# not a heading" in html


def test_csv_cells_that_would_run_as_formulas_are_defused(hostile, home):
    assert run(home, "run", str(hostile)).exit_code == 0
    folder = home / "exports" / "hostile"
    with open(folder / "hostile.csv", encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    risky = [t for t in texts if t.lstrip("'")[:1] in ("=", "+", "-", "@")]
    assert len(risky) == 4, texts
    assert all(t.startswith("'") for t in risky)
    assert not any(t[:1] in ("=", "+", "-", "@") for t in texts)
    jsonl = [json.loads(x)["text"] for x in (folder / "hostile.jsonl").read_text("utf-8").splitlines()]
    assert any(t.startswith("=HYPERLINK") for t in jsonl)  # JSON is data, not a spreadsheet: left as it is


def test_a_readme_someone_else_wrote_is_kept(hostile, home, tmp_path):
    assert run(home, "run", str(hostile), "--until", "agreement").exit_code == 0
    out = tmp_path / "shared"
    out.mkdir()
    (out / "README.md").write_text("# Our team's notes\n\nDo not lose these.\n")
    result = run(home, "export", "hostile", "--out", str(out))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "README.md" in lines[0] and "--force" in lines[0], result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]  # nothing written
    assert (out / "README.md").read_text().startswith("# Our team's notes")
    assert run(home, "export", "hostile", "--out", str(out), "--force").exit_code == 0
    assert "workbench data card: campaign hostile" in (out / "README.md").read_text()
    assert run(home, "export", "hostile", "--out", str(out)).exit_code == 0  # its own card: replaced freely


def test_a_card_from_workbench_0_1_counts_as_the_campaigns_own(hostile, home, tmp_path):
    assert run(home, "run", str(hostile), "--until", "agreement").exit_code == 0
    out = tmp_path / "old"
    out.mkdir()
    (out / "README.md").write_text("---\npretty_name: hostile\ntask_categories:\n- text-classification\n"
                                   "tags:\n- workbench\n- crowdsourced\n---\n\n# hostile\n")
    assert run(home, "export", "hostile", "--out", str(out)).exit_code == 0
    (out / "README.md").write_text((out / "README.md").read_text().replace("campaign hostile", "campaign other")
                                   .replace("pretty_name: hostile", "pretty_name: other"))
    assert run(home, "export", "hostile", "--out", str(out)).exit_code == 1  # another campaign's card


KILLED_EXPORT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from workbench.export.files import Staging
stage = Staging(Path({folder!r})).__enter__()
with open(stage.path("big.jsonl"), "wb") as fh:
    fh.write(b"x" * 5_000_000)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(hostile, home, tmp_path):
    assert run(home, "run", str(hostile)).exit_code == 0
    folder = home / "exports" / "hostile"
    killed = subprocess.run([sys.executable, "-c", KILLED_EXPORT.format(root=str(ROOT), folder=str(folder))])
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in folder.iterdir() if p.name.startswith(".export-")]
    assert len(left) == 1 and (left[0] / "big.jsonl").stat().st_size == 5_000_000
    # a staging folder of a process that still runs is not touched
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        host = "".join(ch for ch in socket.gethostname() if ch.isalnum())[:20]
        busy = folder / f".export-{host}-{alive.pid}-abc"
        busy.mkdir()
        result = run(home, "export", "hostile", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["cleaned_up"] == [str(left[0])]
        assert not left[0].exists() and busy.exists()
    finally:
        alive.kill()
        alive.wait()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [busy.name]
    os.rmdir(busy)
