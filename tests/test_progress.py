"""Progress bars: one display on stderr, cleaned up after each step (even a failing one), silent when quiet."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from workbench.cli.common import State
from workbench.cli.progress import Bars, Lines, NoBars


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


def test_quiet_draws_nothing_and_no_terminal_gets_lines(monkeypatch):
    monkeypatch.delenv("WORKBENCH_PROGRESS")
    assert isinstance(State(quiet=True).progress(), NoBars)
    assert isinstance(State(quiet=False).progress(), Lines)  # pytest's stderr is not a terminal
    for choice, kind in (("none", NoBars), ("lines", Lines), ("bars", Bars)):
        monkeypatch.setenv("WORKBENCH_PROGRESS", choice)
        assert isinstance(State(quiet=False).progress(), kind)
    with State(quiet=True).step("x"):
        State(quiet=True).progress()("y", 5)(5)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_for_long_work_when_not_on_a_terminal():
    """`make demo | tee log` used to print nothing for 15 minutes: long work now says how far it is,
    after 10 s, then at most every 30 s; work shorter than 10 s prints nothing."""
    out, clock = io.StringIO(), Clock()
    lines = Lines(out, after=10, every=30, clock=clock)
    with lines.step("c: push"):
        lines("c: sending units", 4)(4)  # quick: nothing
    assert out.getvalue() == ""
    with lines.step("c: simulate"):
        advance = lines("c: simulated crowd", 100)
        for _ in range(100):
            clock.now += 1.0
            advance()
    assert out.getvalue().splitlines() == [
        "c: simulated crowd: 10/100 (10s)", "c: simulated crowd: 40/100 (40s)",
        "c: simulated crowd: 70/100 (1m 10s)", "c: simulated crowd: 100/100 (1m 40s)",
        "c: simulate: done after 1m 40s"]
    with pytest.raises(RuntimeError):
        with lines.step("c: pull"):
            clock.now += 12
            raise RuntimeError("boom")
    assert out.getvalue().splitlines()[-1] == "c: pull: stopped after 12s"


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
