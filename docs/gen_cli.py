"""Writes docs/cli.md from the commands' own --help texts: `python docs/gen_cli.py`."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli import cli

HEADER = """# CLI reference

Generated from `--help` by `python docs/gen_cli.py` (a test checks it is current). Every command
that prints a table also takes `--json`. Global options go before the command:
`workbench --home DIR --quiet COMMAND ...`. Errors are one line on stderr and exit code 1.
"""


def walk(group: click.Group, path: list[str]):
    for name in sorted(group.commands):
        cmd = group.commands[name]
        yield path + [name], cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, path + [name])


def render() -> str:
    main = cli()
    out = [HEADER]
    with click.Context(main, info_name="workbench", terminal_width=100) as ctx:
        out.append("## workbench\n\n```text\n" + main.get_help(ctx) + "\n```\n")
        for path, cmd in walk(main, []):
            parent = ctx
            for p in path[:-1]:
                parent = click.Context(parent.command.commands[p], info_name=p, parent=parent)
            sub = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=100)
            out.append(f"## workbench {' '.join(path)}\n\n```text\n{cmd.get_help(sub)}\n```\n")
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).with_name("cli.md").write_text(render(), "utf-8")
