"""Progress bars: one display on stderr, cleaned up after each step (even a failing one), silent when quiet."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from workbench.cli.common import State
from workbench.cli.progress import Bars, NoBars


def terminal() -> tuple[Bars, io.StringIO]:
    out = io.StringIO()
    return Bars(Console(file=out, force_terminal=True, width=100)), out


def test_bars_draw_and_stop_when_done():
    bars, out = terminal()
    advance = bars(desc="pre-labeling", total=3)
    assert bars._progress is not None
    for _ in range(3):
        advance()
    assert bars._progress is None and bars._open == []
    assert "pre-labeling" in out.getvalue()
    advance()  # late calls after the end are harmless


def test_a_step_removes_the_bars_left_open_inside_it_even_on_error():
    bars, out = terminal()
    with pytest.raises(RuntimeError):
        with bars.step("c: simulate"):
            bars("c: simulated crowd labels", 10)(4)  # never finishes
            raise RuntimeError("boom")
    assert bars._progress is None and bars._open == []
    with bars.step("c: aggregate"):  # a new display can start afterwards (rich allows one at a time)
        bars("inner", 2)(2)
        assert len(bars._open) == 1
    assert bars._progress is None
    assert "c: aggregate" in out.getvalue()


def test_nested_steps_share_one_display():
    bars, _ = terminal()
    with bars.step("outer"):
        display = bars._progress
        with bars.step("inner"):
            assert bars._progress is display and len(bars._open) == 2
        assert bars._progress is display and len(bars._open) == 1
    assert bars._progress is None


def test_quiet_or_not_a_terminal_draws_nothing():
    assert isinstance(State(quiet=True).progress(), NoBars)
    assert isinstance(State(quiet=False).progress(), NoBars)  # pytest's stderr is not a terminal
    with State(quiet=True).step("x"):
        State(quiet=True).progress()("y", 5)(5)


def test_zero_total_needs_no_bar():
    bars, _ = terminal()
    bars("nothing to do", 0)(1)
    assert bars._progress is None


def test_tables_print_on_a_terminal(monkeypatch, capsys):
    import sys

    from workbench.cli.common import table

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # `make demo` on a terminal takes this path
    table("annotators", ["annotator", "labels"], [["ana", 3]])
    assert "ana" in capsys.readouterr().out
