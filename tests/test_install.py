"""`pip install -e .` without extras: the core and the local backend run with no Label Studio SDK (issue 10).

A fresh virtual environment gets workbench without extras and the claims plugin, and runs a local
campaign in a subprocess; the Label Studio SDK and httpx are not in it, and a campaign naming the
Label Studio backend is told which extra to install.
"""

from __future__ import annotations

import subprocess
import venv

import pytest

from helpers import ROOT


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    env = tmp_path_factory.mktemp("bare") / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    for args in (["-e", str(ROOT)], ["--no-deps", "-e", str(ROOT / "plugins" / "claims")]):
        done = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    return env


def test_a_local_campaign_runs_without_label_studio(bare, tmp_path):
    py = bare / "bin" / "python"
    missing = subprocess.run([str(py), "-c", "import label_studio_sdk"], capture_output=True, text=True)
    assert missing.returncode != 0 and "No module named 'label_studio_sdk'" in missing.stderr
    assert subprocess.run([str(py), "-c", "import httpx"], capture_output=True).returncode != 0
    spec = tmp_path / "c.toml"
    spec.write_text(f'name = "bare"\ntask_type = "claims"\ndocuments = "{ROOT}/tasks/articles/000_*.txt"\n'
                    "overlap = 2\n[[annotators]]\npersona = \"expert\"\n[[annotators]]\npersona = \"hasty\"\n"
                    '[export]\nformats = ["jsonl", "csv"]\n')
    wb = bare / "bin" / "workbench"
    done = subprocess.run([str(wb), "--home", str(tmp_path / "home"), "-q", "run", str(spec)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "exports" / "bare" / "bare.jsonl").exists()
    plugins = subprocess.run([str(wb), "plugins"], capture_output=True, text=True, cwd=tmp_path)
    assert plugins.returncode == 0 and "labelstudio" in plugins.stdout and "failure" not in plugins.stdout
    spec.write_text(spec.read_text().replace('name = "bare"', 'name = "bare-ls"') + '[backend]\nname = "labelstudio"\n')
    done = subprocess.run([str(wb), "--home", str(tmp_path / "home"), "run", str(spec)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "c.toml: backend.name: backend 'labelstudio' needs the optional extra 'labelstudio'" in done.stderr
    assert "pip install 'workbench[labelstudio]'" in done.stderr
    status = subprocess.run([str(wb), "--home", str(tmp_path / "home"), "status", "bare-ls"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert "no campaign 'bare-ls'" in status.stderr  # refused before anything was stored
