"""The ``workbench`` command line. The group is built in :func:`cli` (nothing runs at import).

The core's commands come from the modules here; plugins add theirs through ``register_commands``
(the Label Studio backend adds ``server`` and ``invite``).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from ..errors import WorkbenchError


class Group(click.Group):
    """Plugins' commands are added when first needed (a name the core lacks, the list of commands,
    ``workbench plugins``): the core's commands run without loading every plugin.

    Turns a WorkbenchError anywhere below into one line on stderr and exit code 1; so too a store or
    disk failure that no layer below named (a full disk, a read-only folder), with the path it hit.
    With ``--traceback`` (or ``WORKBENCH_TRACE_PLUGINS=1``) a plugin's failure shows its traceback first."""

    plugin_commands_added = False

    def add_plugin_commands(self) -> None:
        if not self.plugin_commands_added:
            self.plugin_commands_added = True
            from ..registry import get_registry

            get_registry().add_commands(self)

    def get_command(self, ctx, cmd_name):
        # a plugin cannot take a core command's name (add_commands refuses it), so a core name
        # needs no plugin; `plugins` lists what plugins' commands did, so it loads them
        if cmd_name not in self.commands or cmd_name == "plugins":
            self.add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self.add_plugin_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx):
        import sqlite3

        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            cause = exc.__cause__
            if cause is not None and (getattr(ctx.obj, "traceback", False) or os.environ.get("WORKBENCH_TRACE_PLUGINS")):
                sys.stderr.write("".join(traceback.format_exception(cause)))
            raise click.ClickException(str(exc)) from None
        except sqlite3.Error as exc:
            from ..store.errors import store_error

            state = ctx.obj
            where = state.store.path if state is not None and state._store is not None else "the workbench store"
            raise click.ClickException(str(store_error(exc, where))) from None
        except BrokenPipeError:  # `workbench units X --csv | head`: the reader has all it wanted
            sys.stdout = open(os.devnull, "w")
            ctx.exit(0)
        except OSError as exc:
            if exc.errno is None:
                raise
            from ..store.errors import file_error

            raise click.ClickException(str(file_error(exc, exc.filename or "a file", "cannot write"))) from None


def _main() -> Group:
    @click.group(cls=Group)
    @click.version_option(package_name="workbench")
    @click.option("--home", type=click.Path(), envvar="WORKBENCH_HOME",
                  help="Where campaign state lives (default: ./.workbench; env WORKBENCH_HOME).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress (bars on a terminal, else a line every 30 s of long work; env WORKBENCH_PROGRESS=bars|lines|none).")
    @click.option("--wait", is_flag=True, help="When another process is working on the campaign, wait for it "
                                              "instead of stopping.")
    @click.option("--traceback", "show_traceback", is_flag=True,
                  help="Show the full traceback when a plugin fails (as WORKBENCH_TRACE_PLUGINS=1 does).")
    @click.pass_context
    def main(ctx, home, quiet, wait, show_traceback):
        """workbench: run text-labeling campaigns, measure agreement, ship curated datasets."""
        from .common import State

        ctx.obj = State(home=home, quiet=quiet, wait=wait, traceback=show_traceback)

    return main


def cli(plugin_commands: bool = True) -> click.Group:
    """The command group: the core's commands, then every plugin's (``plugin_commands=False``: when
    first needed, as the console script does, so a core command loads no plugin it does not use)."""
    from . import campaign, evaluate, plugins, pool, quality, report, units

    main = _main()
    for module in (plugins, campaign, units, report, quality, pool, evaluate):
        module.attach(main)
    if plugin_commands:
        main.add_plugin_commands()
    return main


def entry():  # console script
    cli(plugin_commands=False)(prog_name="workbench")
