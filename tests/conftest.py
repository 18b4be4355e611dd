"""Shared fixtures. Installed third-party plugins never leak into a test: the registry here holds the
core defaults plus the built-in plugins only, unless a test adds its own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workbench import registry as registry_mod

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = ("text", "claims", "sentiment")


@pytest.fixture(autouse=True, scope="session")
def label_studio_templates(tmp_path_factory):
    """Label Studio's migrated empty database, which a first start keeps for the next new homes, is kept
    in this session's temp dir, not in the user's cache: the tests leave nothing in $HOME, and the
    session's first app server start migrates from scratch as a new machine's does."""
    name = "WORKBENCH_LABEL_STUDIO_TEMPLATES"
    before = os.environ.get(name)
    os.environ[name] = str(tmp_path_factory.mktemp("ls-templates"))
    yield
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Each test starts from the built-in plugins only, and leaves no registry behind."""
    monkeypatch.setenv("WORKBENCH_LOAD_PLUGINS", ",".join(BUILTIN))
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    # no progress lines mixed into the CLI output tests parse (a step past 10 s on a busy machine would
    # print one); tests/test_progress.py checks them
    monkeypatch.setenv("WORKBENCH_PROGRESS", "none")
    registry_mod.reset_registry()
    yield
    registry_mod.reset_registry()


@pytest.fixture
def with_plugin():
    """Register a plugin (module or object with hookimpls) for one test: ``with_plugin(obj)``."""

    def add(plugin):
        reg = registry_mod.make_registry(extra_plugins=[plugin])
        registry_mod.reset_registry(reg)
        return reg

    return add


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A copy of the sample articles and campaigns, so tests can edit them freely. The copies run on
    the local backend: the Label Studio tests (tests/labelstudio/) share one real server instead."""
    dst = tmp_path / "tasks"
    shutil.copytree(ROOT / "tasks", dst)
    for spec in (dst / "campaigns").glob("*.toml"):
        spec.write_text(spec.read_text("utf-8").replace('name = "labelstudio"', 'name = "local"'), "utf-8")
    return dst
