"""Push: units become Label Studio tasks, in batches, never twice.

Each task's data carries its ``unit_id``, which is how a push cut off half way, or a lost answer
to an import, is reconciled: before importing into a project that already has tasks, and after any
import whose outcome is unknown, the project's tasks are listed and the units already there are
recorded, not sent again. Each batch is handed to the engine's ``record`` as soon as it is in, so
a failure later loses nothing. Pre-labels go in with their task as predictions (model_version:
plugin name and version). Each task's overlap is the number of annotators the campaign plans for
its unit (honeypots included: they are blind); a new round raises it with :func:`set_overlaps`. Nothing in a
task's data marks it as gold.
"""

from __future__ import annotations

from typing import Callable

from ...errors import WorkbenchError
from ...models import PreLabel, Unit
from .client import AmbiguousWrite
from .connection import Connection, Project
from .pull import completed_by


def server_units(backend: Connection, project: Project) -> dict[str, int]:
    """``{unit_id: task id}`` of the tasks already in the project (the earliest task wins)."""
    found: dict[str, int] = {}
    for task in backend.api.tasks(project.id, include="id,data"):
        uid = (task.get("data") or {}).get("unit_id")
        if uid is not None and (uid not in found or task["id"] < found[uid]):
            found[uid] = task["id"]
    return found


def task_payload(backend: Connection, unit: Unit, pre: PreLabel | None, version: str) -> dict:
    tt = backend.ctx.task_type
    task: dict = {"data": tt.task_data(unit)}
    if pre is not None:
        task["predictions"] = [{"result": tt.to_ls_result(pre.label, unit), "score": round(float(pre.score), 4),
                                "model_version": version}]
    return task


def push_units(backend: Connection, units: list[Unit], prelabels: dict[str, PreLabel], overlaps: dict[str, int],
               record: Callable[[dict[str, str]], None]) -> dict[str, str]:
    if not units:  # everything is in: only the project's settings follow the spec
        if backend.recorded() is not None:
            backend.project()
        return {}
    project = backend.project(create=True)
    campaign = backend.campaign
    mapping: dict[str, str] = {}

    def keep(found: dict[str, int]) -> None:
        # before recording: a recorded unit is never revisited by a later push
        set_overlaps(backend, {str(t): overlaps[u] for u, t in found.items()
                               if overlaps.get(u) and overlaps[u] != project.maximum}, finished={})
        record({u: str(t) for u, t in found.items()})
        mapping.update({u: str(t) for u, t in found.items()})

    wanted = {u.id for u in units}
    if not project.created_now:
        keep({u: t for u, t in server_units(backend, project).items() if u in wanted})
    todo = [u for u in units if u.id not in mapping]
    version = backend.model_version()
    advance = backend.ctx.progress(f"{campaign}: importing tasks into Label Studio", len(todo))
    for start in range(0, len(todo), backend.batch_size):
        batch = todo[start:start + backend.batch_size]
        found, error = import_batch(backend, project, batch, prelabels, version)
        keep(found)
        if error:
            raise WorkbenchError(
                f"campaign {campaign!r}: import into Label Studio project {project.id} failed ({error}); "
                f"{len(mapping)} units are in and recorded; run `push` again to send the rest")
        advance(len(batch))
    return mapping


def set_overlaps(backend: Connection, overlaps: dict[str, int], finished: dict[str, int] | None = None) -> None:
    """``{task id: n}``: each task collects ``n`` annotations (Label Studio's per-task ``overlap``).

    Label Studio keeps a task out of the labeling stream by its stored ``is_labeled`` flag, which a
    change of ``overlap`` alone does not recompute; so the flag is set with it, from the task's
    finished annotations by distinct annotators (skips do not count), as Label Studio computes it.
    ``finished``: those counts when known (new tasks: none), else they are read from the server.
    """
    if not overlaps:
        return
    if finished is None:
        # the light listing (every annotation's result would cost ten times as much): total_annotations
        # counts a task's finished annotations, one per annotator
        finished = {str(t["id"]): int(t.get("total_annotations") or 0)
                    for t in backend.api.tasks(backend.project().id, include="id,total_annotations")
                    if str(t["id"]) in overlaps}

    def patch(item: tuple[str, int]) -> None:
        task_id, n = item
        backend.api.patch(f"/api/tasks/{task_id}/", {"overlap": n, "is_labeled": finished.get(str(task_id), 0) >= n},
                          what=f"setting the overlap of task {task_id}")

    backend.each(patch, overlaps.items())  # one PATCH per task (Label Studio has no bulk way)


def finished_by(task: dict) -> int:
    """Distinct users with a finished annotation on ``task`` (skips do not count), as Label Studio
    counts them for ``is_labeled``."""
    return len({completed_by(a)[0] for a in task.get("annotations") or []
                if not a.get("was_cancelled") and a.get("result") is not None})


def import_batch(backend: Connection, project: Project, batch: list[Unit],
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
