"""The ``workbench`` command line. The group is built in :func:`cli` (nothing runs at import)."""

from __future__ import annotations

import click

from ..errors import WorkbenchError


class Group(click.Group):
    """Turns a WorkbenchError anywhere below into one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Group)
@click.version_option(package_name="workbench")
@click.option("--home", type=click.Path(file_okay=False), envvar="WORKBENCH_HOME",
              help="Where campaign state lives (default: ./.workbench; env WORKBENCH_HOME).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def main(ctx, home, quiet):
    """workbench: run text-labeling campaigns, measure agreement, ship curated datasets."""
    from .common import State

    ctx.obj = State(home=home, quiet=quiet)


def cli():
    """Entry point: attach every command module, then run."""
    from . import campaign, plugins, quality, report, server  # noqa: F401  (modules add their commands to ``main``)

    for module in (plugins, campaign, report, server, quality):
        module.attach(main)
    return main


def entry():  # console script
    cli()(prog_name="workbench")
