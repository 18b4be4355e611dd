"""`workbench demo`: on the managed Label Studio by default (project URLs and how to log in printed,
`workbench server stop` stops it), and in-process with `--backend local`."""

from __future__ import annotations

import re

from workbench.backends.labelstudio.server import ManagedServer

from helpers import ROOT
from lsutil import run


def small_samples(folder, names=("claims",)):
    """The sample campaign files on one article and without gold (the gold files cover all five), so
    without gating (it judges annotators on honeypots). Without honeypots the adaptive rounds settle
    every unit's posterior, so review takes the disputed ones by agreement too: the review round has
    work whatever the seed."""
    folder.mkdir()
    for name in names:
        text = (ROOT / "tasks" / "campaigns" / f"{name}.toml").read_text("utf-8")
        text = text.replace('"../articles/*.txt"', f'"{ROOT}/tasks/articles/000_*.txt"')
        text = re.sub(r"\[gold\]\nfile = [^\n]*\nrate = [^\n]*\n", "", text)
        text, n = re.subn(r"^\[gating\]\n(?:(?!\[)[^\n]*\n)*", "", text, flags=re.M)  # gating needs honeypots
        assert n == 1, name
        text, n = re.subn(r"^min_agreement = false", "min_agreement = 0.5", text, flags=re.M)
        assert n == 1, name
        (folder / f"{name}.toml").write_text(text, "utf-8")
    return folder


def test_sample_campaigns_name_the_managed_label_studio():
    for name in ("claims", "sentiment", "text"):
        text = (ROOT / "tasks" / "campaigns" / f"{name}.toml").read_text("utf-8")
        assert re.search(r'\[backend\]\nname = "labelstudio"\n', text), name
        assert "url" not in text.split("[backend]")[1].split("[")[0]  # the managed server, no url


def test_demo_runs_through_label_studio(tmp_path):
    home = tmp_path / "home"
    samples = small_samples(tmp_path / "samples")
    try:
        result = run("demo", "--campaigns", str(samples), home=home)
        assert result.exit_code == 0, result.output
        status = ManagedServer(home).status()
        assert status["running"]
        # the demo starts its server under gunicorn with 2 worker processes (`demo --workers`), on SQLite
        assert (status["workers"], status["app_server"], status["database"]) == (2, "gunicorn, 2 workers", "sqlite")
        assert f"url: {status['url']}/projects/" in result.output
        assert "login: admin@workbench.local with the password in" in result.output
        assert f"Label Studio is running at {status['url']}" in result.output
        assert re.search(r"annotations: \d+ counted", result.output)
        # a review round over what remains disputed, through the campaign's review project, on the card
        assert re.search(r"^review: round 1; \d+ unit\(s\) sent, \d+ reviewed, \d+ overturned, 0 waiting",
                         result.output, re.M), result.output
        card = (home / "exports" / "claims-demo" / "README.md").read_text("utf-8")
        assert "## Review" in card and "overturned by review" in card
        assert ManagedServer(home).token() not in result.output
        # the closing lines give the sample campaign's person a command that works as printed
        waiting = re.search(r"^  workbench invite claims-demo you@example.org +# (\d+) task\(s\) wait for you$",
                            result.output, re.M)
        assert waiting and int(waiting[1]) > 0, result.output
        assert "workbench pull CAMPAIGN" in result.output
        invited = run("invite", "claims-demo", "you@example.org", home=home)
        assert invited.exit_code == 0, invited.output
        assert f"send you@example.org this sign-up link: {status['url']}/user/signup/?token=" in invited.output
        assert f"{waiting[1]} task(s) wait for them there" in invited.output
        assert "warning" not in invited.output and "not in the campaign's pool" not in invited.output
    finally:
        stopped = run("server", "stop", home=home)
    assert stopped.exit_code == 0 and "Label Studio stopped" in stopped.output
    assert not ManagedServer(home).status()["running"]


def test_demo_local_backend_needs_no_server(tmp_path):
    home = tmp_path / "home"
    result = run("demo", "--backend", "local", "--campaigns", str(small_samples(tmp_path / "s", ("sentiment",))),
                 home=home)
    assert result.exit_code == 0, result.output
    assert "backend local" in result.output and "Label Studio" not in result.output
    assert not (home / "labelstudio").exists()
    assert re.search(r"^review: round 1; \d+ unit\(s\) sent, \d+ reviewed, \d+ overturned, 0 waiting",
                     result.output, re.M), result.output
    assert "## Review" in (home / "exports" / "sentiment-demo" / "README.md").read_text("utf-8")
