"""The report: the campaign's tables, read through the read model, drawn as one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import review
from ..gating import gold_health, report_lines
from ..report import check_ready, write_report
from ..report.data import display_names, gather, progress
from ..status import status
from ..store import work as work_sql
from .export import as_of, names, status_counts

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


def default_path(ctx: "StepContext") -> Path:
    return ctx.store.home / "reports" / f"{ctx.name}.html"


def run(ctx: "StepContext", out: str | Path | None = None, top: int = 12) -> dict[str, Any]:
    """Write the report to ``out`` (default ``<home>/reports/<campaign>.html``)."""
    path = Path(out) if out is not None else default_path(ctx)
    check_ready(path, top)
    ctx.require("report", "aggregate")
    ctx.require("report", "agreement")
    state, spec, tt = ctx.state, ctx.spec, ctx.task_type
    shown = display_names(names(ctx))
    planned = work_sql.planned_per_unit(ctx.store, ctx.name)
    done: dict[str, int] = {}
    for a in state.annotations:
        if a.status.value == "ok":
            done[a.unit_id] = done.get(a.unit_id, 0) + 1
    data = gather(
        campaign={"name": ctx.name, "description": spec.description, "backend": spec.backend, "overlap": spec.overlap},
        task={"task_type": spec.task_type, "description": tt.description, "instructions": tt.instructions,
              "schema": tt.schema},
        units=state.units_by_id, documents=state.documents, names=shown, table=state.table,
        aggregates=state.aggregates, quality=state.quality, metrics=state.metrics, aggregate=state.step("aggregate"),
        progress=progress(status(spec, state), planned, done, shown), pool={a.id: a for a in state.pool},
        as_of=as_of(state), top=top, statuses=status_counts(state), evaluations=state.evaluations)
    reviews = review.read(ctx.store, ctx.name, tt.schema)
    if reviews:
        per = review.annotator_overturns(state.annotations, reviews)
        data.review = {**review.summary_facts(state, reviews, review.is_spans(tt.schema)),
                       "per_annotator": {shown.get(a, a): v for a, v in per.items()}}
    data.gating = report_lines(gold_health(state, spec), shown)
    return write_report(data, path, ctx.progress)

