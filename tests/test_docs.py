"""Meta-tests that keep the plugin surface and the docs honest."""

import re
from pathlib import Path

import click

from workbench import hookspecs
from workbench.cli import cli

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("register_"))


def test_every_hook_is_documented():
    doc = (ROOT / "docs" / "writing-plugins.md").read_text("utf-8")
    headings = set(re.findall(r"^### (\w+)$", doc, re.M))
    assert set(HOOKS) <= headings, set(HOOKS) - headings


def test_every_hook_has_a_test():
    tests = "".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    for hook in HOOKS:
        assert re.search(rf"{hook}\s*=", tests), f"no test registers through {hook}"


def test_every_hookspec_is_typed_and_documented():
    for hook in HOOKS:
        fn = getattr(hookspecs, hook)
        assert fn.__doc__ and fn.__annotations__, hook


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help():
    for path, cmd in _commands(cli()):
        assert cmd.help, f"`workbench {' '.join(path)}` has no --help text"


def test_cli_reference_is_current():
    import runpy

    render = runpy.run_path(str(ROOT / "docs" / "gen_cli.py"))["render"]
    assert (ROOT / "docs" / "cli.md").read_text("utf-8") == render(), \
        "docs/cli.md is out of date: run `.venv/bin/python docs/gen_cli.py`"


def test_docs_pages_exist():
    for page in ("index", "campaigns", "writing-plugins", "cli", "architecture"):
        assert (ROOT / "docs" / f"{page}.md").stat().st_size > 500, page
