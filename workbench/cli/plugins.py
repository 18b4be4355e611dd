"""``workbench plugins``: what is loaded and what each plugin provides."""

from __future__ import annotations

import click

from .common import emit_json, table


def attach(main: click.Group) -> None:
    @main.command()
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def plugins(as_json):
        """List loaded plugins, what each registered, and the ones that failed (with why)."""
        from ..registry import get_registry

        info = get_registry().plugins()
        if as_json:
            emit_json(info)
            return
        rows = []
        for p in info:
            provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in p["provides"].items())
            rows.append([p["name"], p["version"] or "", "core" if p["default"] else "plugin", provides])
        table(None, ["plugin", "version", "kind", "provides"], rows)
        failed = [line for p in info for line in p["errors"]]
        if failed:
            click.echo(f"{len(failed)} plugin failure(s): what they provide is not available "
                       "(WORKBENCH_TRACE_PLUGINS=1 shows the tracebacks):")
            for line in failed:
                click.echo(f"  {line}")
