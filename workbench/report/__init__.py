"""The campaign report: one self-contained HTML page a person reads to decide whether to trust the labels.

:mod:`.data` reads the stored state, :mod:`.pairwise` measures annotator pairs, :mod:`.figures`
draws with matplotlib (SVG, embedded), :mod:`.html` lays it out. Nothing is fetched when it is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign


def default_path(campaign: "Campaign") -> Path:
    return campaign.store.home / "reports" / f"{campaign.name}.html"


def write_report(campaign: "Campaign", out: str | Path | None = None, top: int = 12) -> dict[str, Any]:
    """Write the report (atomically) and return a summary: path, figures drawn, disputed units shown."""
    from ..export.files import atomic_write
    from .data import gather
    from .figures import draw_all
    from .html import render

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise WorkbenchError("the report needs the optional extra 'report' (matplotlib is not installed): "
                             "pip install 'workbench[report]'") from None
    if top < 0:
        raise WorkbenchError(f"--top: expected 0 or more disputed units to show, got {top}")
    path = Path(out) if out is not None else default_path(campaign)
    if path.exists() and path.is_dir():
        raise WorkbenchError(f"report file {path} is a folder; give a file name such as {path / 'report.html'}")
    data = gather(campaign, top=top)
    figures = draw_all(data, campaign.progress)
    page = render(data, figures)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_text(page, "utf-8"))
    except OSError as exc:
        raise WorkbenchError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return {"campaign": campaign.name, "path": str(path), "bytes": len(page.encode("utf-8")),
            "figures": sorted(figures), "disputed_units": len(data.disputed), "as_of": data.as_of}
