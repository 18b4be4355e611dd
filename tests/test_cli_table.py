"""The CLI's tables off a terminal: laid out directly where rich would only pad cells, and then
character for character what rich prints; rich itself for anything else."""

import io
import random

from rich.console import Console
from rich.table import Table

from workbench.cli.common import plain_table


def rich_text(title, columns, rows, width):
    t = Table(title=title, title_justify="left", show_edge=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*r)
    out = io.StringIO()
    Console(width=width, file=out).print(t)
    return out.getvalue()


def test_plain_table_is_what_rich_prints():
    rng = random.Random(7)

    def cell():
        return rng.choice(["", f"{rng.random():.3f}", f"[{rng.random():.3f}, {rng.random():.3f}]",
                           f"w{rng.randint(0, 300)}", "gold accuracy 0.58 < 0.6; spammer", "n/a", "x" * rng.randint(1, 40)])

    laid_out = 0
    for _ in range(500):
        n = rng.randint(1, 9)
        columns = [rng.choice(["annotator", "labels", "gold n", "95% interval", "w/ consensus", "flags", "a"])
                   for _ in range(n)]
        rows = [[cell() for _ in range(n)] for _ in range(rng.randint(0, 12))]
        title = rng.choice([None, "annotators", "a title longer than some of these tables are wide"])
        width = rng.choice([60, 120])
        text = plain_table(title, columns, rows, width)
        if text is not None:
            laid_out += 1
            assert text + "\n" == rich_text(title, columns, rows, width), (title, columns, rows, width)
    assert laid_out > 100  # the others are wider than the console, or their title is


def test_rich_handles_what_it_would_change():
    assert plain_table(None, ["a"], [["[bold]x"]], 120) is None  # markup
    assert plain_table(None, ["a"], [["a :smile: b"]], 120) is None  # an emoji code
    assert plain_table(None, ["a"], [["é"]], 120) is None  # not ASCII: rich measures cells
    assert plain_table(None, ["a"], [["x" * 200]], 120) is None  # wider than the console: rich folds
    assert plain_table("a long title", ["a"], [["x"]], 120) is None  # rich wraps the title
    assert plain_table(None, ["a", "b"], [["1", "[0.5, 0.6]"]], 120) is not None


def test_wide_tables_wrap_as_rich_wraps_them():
    """Tables wider than the console: rich narrows the widest columns and wraps their cells at
    words (folding a word longer than the column); the plain layout must print the same."""
    rng = random.Random(11)
    words = ["gold", "accuracy", "0.58", "<", "0.6;", "spammer", "score", "0.11", "consensus", "agreement",
             "kept,", "not", "counted:", "x" * 23, "excluded", "(gold_accuracy):", "a", ""]

    def cell():
        kind = rng.random()
        if kind < 0.3:
            return f"{rng.random():.3f}"
        if kind < 0.4:
            return ""
        return (" " * rng.randint(1, 2)).join(rng.choice(words) for _ in range(rng.randint(1, 7)))

    wrapped = laid_out = 0
    for _ in range(200):
        n = rng.randint(1, 9)
        columns = [rng.choice(["annotator", "labels", "gold n", "95% interval", "w/ consensus", "flags", "a"])
                   for _ in range(n)]
        rows = [[cell() for _ in range(n)] for _ in range(rng.randint(0, 10))]
        title = rng.choice([None, "annotators"])
        width = rng.choice([40, 60, 80, 120])
        text = plain_table(title, columns, rows, width)
        if text is not None:
            expected = rich_text(title, columns, rows, width)
            assert text + "\n" == expected, (title, columns, rows, width)
            laid_out += 1
            wrapped += len(text.splitlines()) > len(rows) + 2 + (title is not None)
    assert wrapped > 50, (laid_out, wrapped)  # laid out with at least one wrapped cell, not left to rich
