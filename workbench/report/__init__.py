"""The campaign report: one self-contained HTML page a person reads to decide whether to trust the labels.

:mod:`.data` shapes the tables it is given, :mod:`.pairwise` measures annotator pairs, :mod:`.figures`
draws with matplotlib (SVG, embedded), :mod:`.html` lays it out. Nothing is fetched when it is opened.
The report step (:mod:`workbench.steps.report`) reads the campaign and hands this package its tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import WorkbenchError

if TYPE_CHECKING:  # pragma: no cover
    from .data import ReportData


def check_ready(path: Path, top: int) -> None:
    """What can be refused before any work: no matplotlib, a negative ``top``, a folder as the file."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise WorkbenchError("the report needs the optional extra 'report' (matplotlib is not installed): "
                             "pip install 'workbench[report]'") from None
    if top < 0:
        raise WorkbenchError(f"--top: expected 0 or more disputed units to show, got {top}")
    if path.exists() and path.is_dir():
        raise WorkbenchError(f"report file {path} is a folder; give a file name such as {path / 'report.html'}")


def write_report(data: "ReportData", path: Path, progress: Callable | None = None) -> dict[str, Any]:
    """Draw and write the report (atomically); a summary: path, figures drawn, disputed units shown."""
    from ..export.files import atomic_write
    from ..store.errors import file_error
    from .figures import draw_all
    from .html import render

    figures = draw_all(data, progress or (lambda desc, total: (lambda n=1: None)))
    page = render(data, figures)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_text(page, "utf-8"))
    except OSError as exc:
        raise file_error(exc, path, "cannot write the report to") from None
    return {"campaign": data.campaign, "path": str(path), "bytes": len(page.encode("utf-8")),
            "figures": sorted(figures), "disputed_units": len(data.disputed), "as_of": data.as_of}
