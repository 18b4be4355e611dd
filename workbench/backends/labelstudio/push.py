"""Push: units become Label Studio tasks, in batches, never twice.

Each task's data carries its ``unit_id``, which is how a push cut off half way, or a lost answer
to an import, is reconciled: before importing into a project that already has tasks, and after any
import whose outcome is unknown, the project's tasks are listed and the units already there are
recorded, not sent again. Each batch is recorded in ``backend_tasks`` as soon as it is in, so a
failure later loses nothing. Pre-labels go in with their task as predictions (model_version:
plugin name and version). Honeypots get a per-task overlap of the whole pool, as the assignment
plans; nothing in their data marks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import WorkbenchError
from ...models import PreLabel, Unit
from ...registry import plugin_version
from ...store import now
from .client import AmbiguousWrite

if TYPE_CHECKING:  # pragma: no cover
    from . import LabelStudioBackend, Project


def server_units(backend: "LabelStudioBackend", project: "Project") -> dict[str, int]:
    """``{unit_id: task id}`` of the tasks already in the project (the earliest task wins)."""
    found: dict[str, int] = {}
    for task in backend.api.tasks(project.id, include="id,data"):
        uid = (task.get("data") or {}).get("unit_id")
        if uid is not None and (uid not in found or task["id"] < found[uid]):
            found[uid] = task["id"]
    return found


def model_version(backend: "LabelStudioBackend") -> str:
    plugin, version = plugin_version(backend.ctx.registry, "task_types", backend.ctx.task_type.name)
    return f"{plugin} {version}" if version else plugin


def task_payload(backend: "LabelStudioBackend", unit: Unit, pre: PreLabel | None, version: str) -> dict:
    tt = backend.ctx.task_type
    task: dict = {"data": tt.task_data(unit)}
    if pre is not None:
        task["predictions"] = [{"result": tt.to_ls_result(pre.label, unit), "score": round(float(pre.score), 4),
                                "model_version": version}]
    return task


def push_units(backend: "LabelStudioBackend", units: list[Unit], prelabels: dict[str, PreLabel]) -> dict[str, str]:
    project = backend.project(create=True)
    store, campaign = backend.ctx.store, backend.campaign
    pool = len(backend.ctx.spec.annotators)
    honeypots = {u.id for u in units if u.is_gold}
    mapping: dict[str, str] = {}

    def record(found: dict[str, int]) -> None:
        gold = [t for u, t in found.items() if u in honeypots]
        for task_id in gold:  # before recording: a recorded unit is never revisited by a later push
            backend.api.patch(f"/api/tasks/{task_id}/", {"overlap": pool}, what=f"setting the overlap of task {task_id}")
        with store.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO backend_tasks VALUES (?, ?, ?, ?, ?)",
                           [(campaign, u, backend.name, str(t), now()) for u, t in found.items()])
        mapping.update({u: str(t) for u, t in found.items()})

    wanted = {u.id for u in units}
    if not project.created_now:
        record({u: t for u, t in server_units(backend, project).items() if u in wanted})
    todo = [u for u in units if u.id not in mapping]
    version = model_version(backend)
    advance = backend.ctx.progress(f"{campaign}: importing tasks into Label Studio", len(todo))
    for start in range(0, len(todo), backend.batch_size):
        batch = todo[start:start + backend.batch_size]
        found, error = import_batch(backend, project, batch, prelabels, version)
        record(found)
        if error:
            raise WorkbenchError(
                f"campaign {campaign!r}: import into Label Studio project {project.id} failed ({error}); "
                f"{len(mapping)} units are in and recorded; run `push` again to send the rest")
        advance(len(batch))
    return mapping


def import_batch(backend: "LabelStudioBackend", project: "Project", batch: list[Unit],
                 prelabels: dict[str, PreLabel], version: str) -> tuple[dict[str, int], str | None]:
    """Import one batch; when the outcome is unknown, look before sending what is missing again.

    Returns the units now in the project and, if some could not be sent, why."""
    missing = batch
    found: dict[str, int] = {}
    for attempt in range(backend.retries + 1):
        body = [task_payload(backend, u, prelabels.get(u.id), version) for u in missing]
        try:
            answer = backend.api.post(f"/api/projects/{project.id}/import", body, params={"return_task_ids": "true"},
                                      idempotent=False, what=f"importing {len(body)} tasks")
            ids = answer.get("task_ids") or []
            if len(ids) == len(missing):  # the community edition imports synchronously, in order
                found.update({u.id: t for u, t in zip(missing, ids)})
                return found, None
        except AmbiguousWrite as exc:
            last_error = str(exc)
        else:
            last_error = f"the import answered {len(ids)} task ids for {len(missing)} tasks"
        there = server_units(backend, project)
        found.update({u.id: there[u.id] for u in missing if u.id in there})
        missing = [u for u in missing if u.id not in found]
        if not missing:
            return found, None
    return found, last_error
