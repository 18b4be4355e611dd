"""Progress bars for the command line: one rich display on stderr that every step shares.

``bars(desc, total)`` adds a bar and returns ``advance(n=1)`` (the engine's progress callback);
``with bars.step(desc):`` shows a spinner with the elapsed time for a step with no count of its own,
and removes every bar opened inside it when it ends, even on an error. One display serves them all:
rich allows one live display per console, and stdout stays clean for ``--json``. When stderr is not
a terminal, :class:`Lines` prints plain progress lines for long work instead.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, TextIO

if TYPE_CHECKING:  # pragma: no cover - rich is imported when bars are shown (not for --quiet or lines)
    from rich.console import Console
    from rich.progress import Progress, TaskID


def _noop(n: int = 1) -> None:
    return None


def _count_column() -> Any:
    """``done/total`` for counted bars; nothing for a step's spinner (rich would print ``0/?``)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task) -> Text:
            if task.total is None:
                return Text("")
            return Text(f"{int(task.completed)}/{int(task.total)}", style="progress.download")

    return Count()


class Bars:
    def __init__(self, console: Console | None = None):
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self._progress: Progress | None = None
        self._open: list[TaskID] = []

    def _display(self) -> Progress:
        if self._progress is None:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                _count_column(), TimeElapsedColumn(), console=self.console, transient=True)
            self._progress.start()
        return self._progress

    def _done(self, task: TaskID) -> None:
        if task in self._open:
            self._open.remove(task)
            if self._progress is not None:
                self._progress.remove_task(task)
        if not self._open:
            self.close()

    def __call__(self, desc: str, total: int) -> Callable[[int], None]:
        if total <= 0:
            return _noop
        progress = self._display()
        task = progress.add_task(desc, total=total)
        self._open.append(task)
        done = [0]

        def advance(n: int = 1) -> None:
            if task not in self._open:
                return
            done[0] += n
            progress.update(task, completed=min(done[0], total))
            if done[0] >= total:
                self._done(task)

        return advance

    @contextlib.contextmanager
    def step(self, desc: str) -> Iterator[None]:
        progress = self._display()
        mark = len(self._open)
        task = progress.add_task(desc, total=None)
        self._open.append(task)
        try:
            yield
        finally:
            for t in self._open[mark:]:  # the step's own spinner and any bar left open inside it
                self._done(t)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._open.clear()


class Lines:
    """Not on a terminal (a log, CI, ``make demo | tee``): plain lines instead of bars, only for work
    that takes a while, so a long run is never silent for minutes and a short one prints nothing.

    A counted task prints ``desc: done/total (elapsed)`` once it has run ``after`` seconds, then at
    most every ``every`` seconds, and a last line when it ends; a step says ``running`` every ``every``
    seconds while nothing else was printed, and when it ran ``after`` seconds or more, says so when it ends."""

    def __init__(self, stream: TextIO | None = None, after: float = 10.0, every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.stream, self.after, self.every, self.clock = stream, after, every, clock
        self._last = 0.0  # when a line was last printed (wall time)

    def _say(self, line: str) -> None:
        self._last = time.monotonic()
        out = self.stream or sys.stderr
        out.write(line + "\n")
        out.flush()

    def __call__(self, desc: str, total: int) -> Callable[[int], None]:
        if total <= 0:
            return _noop
        start = self.clock()
        state = {"done": 0, "said": None}

        def advance(n: int = 1) -> None:
            if state["done"] >= total:
                return
            state["done"] = min(total, state["done"] + n)
            now = self.clock()
            finished = state["done"] >= total
            due = state["said"] is None or now - state["said"] >= self.every
            if now - start >= self.after and (finished or due):
                state["said"] = now
                self._say(f"{desc}: {state['done']}/{total} ({_elapsed(now - start)})")

        return advance

    @contextlib.contextmanager
    def step(self, desc: str) -> Iterator[None]:
        start = self.clock()
        ok = False
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(desc, stop), daemon=True)
        beat.start()
        try:
            yield
            ok = True
        finally:
            stop.set()
            beat.join()
            took = self.clock() - start
            if took >= self.after:
                self._say(f"{desc}: {'done' if ok else 'stopped'} after {_elapsed(took)}")

    def _heartbeat(self, desc: str, stop: threading.Event) -> None:
        """A step with no count of its own (aggregating, measuring agreement on a million labels) says
        it is still running, every ``every`` seconds of wall time once ``after`` have passed, unless
        a counted task spoke in the meantime."""
        start = time.monotonic()
        while not stop.wait(1.0):
            now = time.monotonic()
            if now - start >= self.after and now - max(self._last, start) >= self.every:
                self._say(f"{desc}: running ({_elapsed(now - start)})")

    def close(self) -> None:
        return None


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class NoBars:
    """Quiet: nothing is drawn."""

    def __call__(self, desc: str, total: int) -> Callable[[int], None]:
        return _noop

    def step(self, desc: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def close(self) -> None:
        return None
