"""``workbench plugins``: what is loaded and what each plugin provides."""

from __future__ import annotations

import click

from .common import emit_json, table


def attach(main: click.Group) -> None:
    @main.command()
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def plugins(as_json):
        """List loaded plugins and what each registered."""
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
