"""What every command shares: the state object, opening campaigns, printing tables or JSON."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from ..errors import WorkbenchError


@dataclass
class State:
    home: str | None = None
    quiet: bool = False
    wait: bool = False
    traceback: bool = False
    _store: Any = field(default=None, repr=False)
    _bars: Any = field(default=None, repr=False)

    @property
    def store(self):
        from ..store import Store

        if self._store is None:
            self._store = Store(self.home)
        return self._store

    def progress(self) -> Callable[[str, int], Callable[[int], None]]:
        """``factory(desc, total) -> advance(n=1)``: bars on stderr; plain lines for long work when stderr
        is not a terminal; nothing when quiet. ``WORKBENCH_PROGRESS`` (``bars``, ``lines``, ``none``)
        overrides the choice."""
        if self._bars is None:
            from .progress import Bars, Lines, NoBars

            chosen = os.environ.get("WORKBENCH_PROGRESS", "").strip().lower()
            if self.quiet or chosen == "none":
                self._bars = NoBars()
            elif chosen == "bars" or (chosen != "lines" and sys.stderr.isatty()):
                self._bars = Bars()
            else:
                self._bars = Lines()
        return self._bars

    def step(self, desc: str):
        """``with state.step(desc):`` a spinner for a step with no count of its own (bars inside it nest)."""
        return self.progress().step(desc)

    def run_steps(self, campaign, until: str = "export") -> dict[str, Any]:
        """Every step of ``campaign`` up to ``until``, each under its own spinner."""
        return campaign.run(until, around=self.step)

    def notify(self, message: str) -> None:
        """A line for the user that is not a command's result (on stderr, even when quiet)."""
        click.echo(f"note: {message}", err=True)

    def open(self, ref: str):
        """A campaign from a ``.toml`` path or the name of one in the store."""
        from ..campaign import Campaign
        from ..spec import load_spec

        options = {"progress": self.progress(), "wait": self.wait, "notify": self.notify}
        if ref.endswith(".toml") or Path(ref).is_file():
            return Campaign(load_spec(ref), self.store, **options)
        return Campaign.open(ref, self.store, **options)


pass_state = click.make_pass_decorator(State)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a table with rich (no colours when not on a terminal)."""
    import shutil  # click 8.1 dropped click.get_terminal_size

    cells = [["" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in r] for r in rows]
    tty = sys.stdout.isatty()
    width = max(100, shutil.get_terminal_size()[0]) if tty else 120
    plain = None if tty else plain_table(title, columns, cells, width)
    if plain is not None:
        click.echo(plain)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in cells:
        t.add_row(*r)
    Console(width=width).print(t)


# what rich would read as markup (``[bold]``, ``\[``) or an emoji code (``:smile:``) in a cell
_RICH_SYNTAX = re.compile(r"\[[a-z#/@]|\\|:\S*?:")


def plain_table(title: str | None, columns: list[str], rows: list[list[str]], width: int) -> str | None:
    """The text rich prints for :func:`table` off a terminal, laid out directly (rich measures every
    cell through its renderables: 0.3 s for a 200-annotator table), or None where rich would do more
    than pad cells: text wider than the console (it folds), or text it would read as markup or an
    emoji code, or anything but printable ASCII."""
    texts = [*columns, *(title and [title] or []), *(c for r in rows for c in r)]
    if not columns or any(not (t.isascii() and t.isprintable()) or _RICH_SYNTAX.search(t) for t in texts):
        return None
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    total = sum(widths) + 3 * len(widths) - 1
    if total > width or (title and len(title) > total):
        return None

    def line(cells: list[str], bar: str) -> str:
        return bar.join(f" {c.ljust(w)} " for c, w in zip(cells, widths))

    out = [title.ljust(total)] if title else []
    out += [line(columns, "\u2503"), "\u2547".join("\u2501" * (w + 2) for w in widths)]
    out += [line(r, "\u2502") for r in rows]
    return "\n".join(out)


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def fail(msg: str):
    raise WorkbenchError(msg)
