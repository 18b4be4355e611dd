"""The ``workbench`` command line. The group is built in :func:`cli` (nothing runs at import)."""

from __future__ import annotations

import click

from ..errors import WorkbenchError


class Group(click.Group):
    """Turns a WorkbenchError anywhere below into one line on stderr and exit code 1; so too a store or
    disk failure that no layer below named (a full disk, a read-only folder), with the path it hit."""

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.Error as exc:
            from ..store.errors import store_error

            state = ctx.obj
            where = state.store.path if state is not None and state._store is not None else "the workbench store"
            raise click.ClickException(str(store_error(exc, where))) from None
        except OSError as exc:
            if exc.errno is None:
                raise
            from ..store.errors import file_error

            raise click.ClickException(str(file_error(exc, exc.filename or "a file", "cannot write"))) from None


@click.group(cls=Group)
@click.version_option(package_name="workbench")
@click.option("--home", type=click.Path(), envvar="WORKBENCH_HOME",
              help="Where campaign state lives (default: ./.workbench; env WORKBENCH_HOME).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--wait", is_flag=True, help="When another process is working on the campaign, wait for it "
                                          "instead of stopping.")
@click.pass_context
def main(ctx, home, quiet, wait):
    """workbench: run text-labeling campaigns, measure agreement, ship curated datasets."""
    from .common import State

    ctx.obj = State(home=home, quiet=quiet, wait=wait)


def cli():
    """Entry point: attach every command module, then run."""
    from . import campaign, plugins, quality, report, server  # noqa: F401  (modules add their commands to ``main``)

    for module in (plugins, campaign, report, server, quality):
        module.attach(main)
    return main


def entry():  # console script
    cli()(prog_name="workbench")
