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
    than pad and wrap cells: a column wider than the console by itself, a table rich cannot narrow by
    wrapping its widest columns (:func:`_collapse_widths`), a title wider than the table, text rich
    would read as markup or an emoji code, or anything but printable ASCII. A table wider than the
    console has its widest columns narrowed as rich narrows them, and their cells wrapped as rich
    wraps them (rich's own ``divide_line``; ``overflow="fold"``)."""
    texts = [*columns, *(title and [title] or []), *(c for r in rows for c in r)]
    if not columns or any(not (t.isascii() and t.isprintable()) or _RICH_SYNTAX.search(t) for t in texts):
        return None
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    total = sum(widths) + 3 * len(widths) - 1
    if total > width:  # rich's widths count the cells' padding (2) and leave room for the bars
        room = width - (len(widths) - 1)
        padded = [w + 2 for w in widths]
        if max(padded) > room:
            return None
        padded = _collapse_widths(padded, room)
        if sum(padded) > room or min(padded) < 3:
            return None
        try:
            from rich._wrap import divide_line
        except ImportError:  # pragma: no cover - another rich: let it lay the table out
            return None
        widths = [w - 2 for w in padded]
        total = sum(widths) + 3 * len(widths) - 1
    else:
        divide_line = None
    if title and len(title) > total:
        return None

    def lines(cells: list[str], bar: str, header: bool = False) -> list[str]:
        if divide_line is None or all(len(c) <= w for c, w in zip(cells, widths)):
            return [bar.join(f" {c.ljust(w)} " for c, w in zip(cells, widths))]
        parts = []
        for c, w in zip(cells, widths):  # rich's Text.wrap: cut at its offsets, each piece cropped to w
            cuts = [0, *divide_line(c, w, fold=True), len(c)]
            parts.append([c[a:b][:w] for a, b in zip(cuts, cuts[1:])])
        height = max(len(p) for p in parts)
        if header:  # rich aligns header cells to the bottom, the others to the top
            parts = [[""] * (height - len(p)) + p for p in parts]
        return [bar.join(f" {(p[i] if i < len(p) else '').ljust(w)} " for p, w in zip(parts, widths))
                for i in range(height)]

    out = [title.ljust(total)] if title else []
    out += [*lines(columns, "\u2503", header=True), "\u2547".join("\u2501" * (w + 2) for w in widths)]
    for r in rows:
        out += lines(r, "\u2502")
    return "\n".join(out)


def _collapse_widths(widths: list[int], max_width: int) -> list[int]:
    """rich's ``Table._collapse_widths`` (15.0) with every column wrappable: the widest columns are
    narrowed, together, towards the next widest, until the table fits or they reach it."""
    total_width = sum(widths)
    excess_width = total_width - max_width
    while total_width and excess_width > 0:
        max_column = max(widths)
        second_max_column = max(w if w != max_column else 0 for w in widths)
        column_difference = max_column - second_max_column
        ratios = [1 if w == max_column else 0 for w in widths]
        if not column_difference:
            break
        widths = _ratio_reduce(excess_width, ratios, [min(excess_width, column_difference)] * len(widths), widths)
        total_width = sum(widths)
        excess_width = total_width - max_width
    return widths


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich's ``_ratio.ratio_reduce`` (15.0)."""
    ratios = [ratio if _max else 0 for ratio, _max in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    total_remaining = total
    result: list[int] = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * total_remaining / total_ratio))
            result.append(value - distributed)
            total_remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def fail(msg: str):
    raise WorkbenchError(msg)
