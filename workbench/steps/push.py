"""The push step: units not yet in the backend are sent; units whose planned number of annotators
changed (a new round, a raised overlap, honeypots for a newcomer) get the new number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store import now
from ..store import work as work_sql
from . import collector_paused_in

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


@collector_paused_in
def run(ctx: "StepContext") -> dict[str, Any]:
    ctx.require("push", "assign")
    state = ctx.state
    backend = ctx.backend
    planned = work_sql.planned_per_unit(ctx.store, ctx.name)
    sent = work_sql.backend_tasks(ctx.store, ctx.name)
    units = state.units
    todo = [u for u in units if u.id not in sent] if sent else units
    pre = state.prelabels
    overlaps = {u.id: planned.get(u.id, 0) for u in todo}

    def record(tasks: dict[str, str]) -> None:
        """Called by the backend as soon as tasks are in (a push cut off half way loses nothing)."""
        # the overlaps of the units pushed: read from those of every unit to push (a million entries
        # made once), the store reads only the tasks' own
        told = overlaps if tasks.keys() <= overlaps.keys() else {u: planned.get(u, 0) for u in tasks}
        with ctx.store.transaction():
            work_sql.record_tasks(ctx.store, ctx.name, ctx.spec.backend, tasks, told, now())

    # called with no units too: a backend brings what it keeps of the spec (say, what people are shown) up to date
    # (every unit to push: the pre-labels are all of them, each a unit's; passed as read, not copied)
    new = backend.push(list(todo), pre if todo is units else {u.id: pre[u.id] for u in todo if u.id in pre},
                       overlaps, record)
    if new:
        record(new)  # a backend that does not record as it goes (the local one)
    changed = {u: planned.get(u, 0) for u, (task, told) in sent.items() if told != planned.get(u, 0)}
    if changed:
        backend.set_overlaps({sent[u][0]: n for u, n in changed.items()})
        with ctx.store.transaction():
            work_sql.set_task_overlaps(ctx.store, ctx.name, changed)
    with ctx.store.transaction():
        summary = {"pushed": len(new), "already_there": len(sent), "overlap_changed": len(changed),
                   **backend.describe()}
        ctx.record("push", summary)
    return summary
