"""The simulated crowd in Label Studio: each persona a real user answering the tasks the plan gave it.

Every persona has its own account and token (``accounts.py``) and saves its annotation as itself
(``POST /api/tasks/{id}/annotations/``) on each task the campaign's assignment planned for it, in
its queue's order (calibration honeypots first), up to its limit: the same work, in the same order,
as on the local backend. People get their tasks from Label Studio's stream
(``/api/projects/{id}/next/``), which offers a task while it has fewer finished annotations than its
overlap; a persona never takes a place that is not its own, so every place planned for a person
stays open in the stream for them, and no task ever gets more answers than its plan (a place a
person took first, through the stream, is not answered again by the persona it was planned for).

A run starts from what is on the server: one listing says which planned (task, persona) pairs are
answered already, so a run killed half way and started again does exactly what is missing, never
twice. ``workers > 1`` lets that many personas work at the same time (each through its own queue,
one answer at a time), which changes nothing of what is answered, only when.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, Callable

from ...errors import WorkbenchError
from ...models import Label, Unit
from ...simulate import SimulatedAnnotator
from ...store import work as work_sql
from .accounts import Credentials, invite_token, persona_api, persona_email
from .client import AmbiguousWrite, LabelStudioAPI
from .connection import Connection, Project
from .pull import completed_by, user_id
from .push import set_overlaps


@dataclass
class Member:
    """One persona at work: its annotator, its own API client, its user id, the tasks it still has to do."""

    annotator: SimulatedAnnotator
    api: LabelStudioAPI
    user_id: int
    todo: list[tuple[int, Unit]] = field(default_factory=list)  # (task id, unit), in queue order
    saved: list[tuple[int, str, dict]] = field(default_factory=list)  # (task id, unit, the server's answer)


@dataclass
class TaskView:
    """A task: its room (the plan's number of annotators), who answered it (skips included), how many
    finished answers it has."""

    room: int  # the plan's number of annotators
    answered_by: set[Any]
    finished: int


def run_crowd(backend: Connection, crowd: list[SimulatedAnnotator], queues: dict[str, list[Unit]],
              references: dict[str, Label], seed: int, limits: dict[str, int] | None = None) -> int:
    """Each persona answers the head of its queue (``limits``: ``{annotator: n}``, its first ``n``
    tasks; a gated campaign works in stages and judges annotators between them), skipping what it
    has answered already. Returns the annotations made."""
    project = backend.project()
    tasks = backend_tasks(backend)
    view = survey(backend, project, tasks, queues)
    members = enlist(backend, crowd, queues, tasks, view, limits or {})
    total = sum(len(m.todo) for m in members)
    bar = backend.ctx.progress(f"{backend.campaign}: simulated crowd in Label Studio", total)
    lock = Lock()

    def advance(n: int) -> None:
        with lock:
            bar(n)

    backend.saved = []
    try:
        backend.each(lambda m: work_through(backend, project, m, references, seed, advance), members)
    finally:  # what was saved, also when a save failed half way
        backend.saved = [(project, t, u, a) for m in members for t, u, a in m.saved]
    return len(backend.saved)


def backend_tasks(backend: Connection) -> dict[str, tuple[int, int | None]]:
    """``{unit: (task id, the overlap push told the server)}`` as the store recorded them."""
    return {u: (int(t), told) for u, (t, told) in work_sql.backend_tasks(backend.ctx.store, backend.campaign).items()}


def survey(backend: Connection, project: Project, tasks: dict[str, tuple[int, int | None]],
           queues: dict[str, list[Unit]]) -> dict[int, TaskView]:
    """One listing of the project: who answered each task, and its room: the plan's number of
    annotators (the server's overlap is raised only where a person has a place, see
    ``LabelStudioBackend.set_overlaps``). A task with a person's place whose overlap is not the plan's
    (lowered by an older release's crowd run killed half way) is set back."""
    planned = Counter(u.id for q in queues.values() for u in q)
    people = {a.id for a in backend.ctx.spec.annotators if not a.simulated}
    # the units with a person's place, as `set_overlaps` finds them
    theirs = {tasks[u][0]: planned[u] for u in work_sql.units_planned_for(backend.ctx.store, backend.campaign, people)
              if u in tasks}
    room = {t: planned[u] for u, (t, _) in tasks.items()}
    out, fix, finished = {}, {}, {}
    # only the fields needed: the whole listing (every annotation's result) costs ten times as much
    # ("annotators" is filled in only with fields=all; total_annotations counts the finished ones)
    for task in backend.api.tasks(project.id, include="id,overlap,annotators,total_annotations", fields="all",
                                  page_size=1000):
        tid = int(task["id"])
        view = TaskView(room.get(tid, int(task.get("overlap") or 1)),
                        {user_id(u) for u in task.get("annotators") or []}, int(task.get("total_annotations") or 0))
        out[tid] = view
        if tid in theirs and int(task.get("overlap") or 0) != theirs[tid]:
            fix[str(tid)], finished[str(tid)] = theirs[tid], view.finished
    set_overlaps(backend, fix, finished)
    return out


def enlist(backend: Connection, crowd: list[SimulatedAnnotator], queues: dict[str, list[Unit]],
           tasks: dict[str, tuple[int, int | None]], view: dict[int, TaskView], limits: dict[str, int]) -> list[Member]:
    """Accounts for the personas, and each one's tasks still to do: the head of its queue (up to its
    limit) but for what it answered already and for tasks someone else filled up (a person who took
    the place through the stream)."""
    members = []
    for a in crowd:
        queue = queues.get(a.id, [])
        queue = queue[:limits[a.id]] if a.id in limits else queue
        if not queue:
            continue
        api, me = account(backend, a.id)
        m = Member(a, api, me)
        for unit in queue:
            task = tasks.get(unit.id)
            if task is None:
                raise WorkbenchError(f"campaign {backend.campaign!r}: unit {unit.id} is planned for {a.id} but was "
                                     "never pushed; run `push` first")
            seen = view.get(task[0])
            if seen is None:
                raise WorkbenchError(f"campaign {backend.campaign!r}: task {task[0]} of unit {unit.id} is not in "
                                     f"Label Studio project {backend.project().id} any more (deleted on the server?)")
            if me in seen.answered_by or seen.finished >= seen.room:
                continue
            m.todo.append((task[0], unit))
        members.append(m)
    return members


def account(backend: Connection, annotator: str) -> tuple[LabelStudioAPI, Any]:
    """The persona's own API client and user id, made once per connection (its account on first use)."""
    email = persona_email(backend.campaign, annotator)
    known = backend.personas.get(email)
    if known is not None:
        return known
    creds = Credentials(backend.home_dir / "credentials.json")
    # sign-up is by invitation only on the managed server
    api = persona_api(backend.api.url, email, annotator, creds, backend.transport, server=backend.server_key,
                      invite_token=invite_token(backend.api))
    api.retries = backend.retries
    backend.personas[email] = (api, user_id(api.whoami()))
    return backend.personas[email]


def work_through(backend: Connection, project: Project, m: Member, references: dict[str, Label], seed: int,
                 advance: Callable[[int], Any]) -> int:
    """The persona answers its tasks one after the other; returns how many it saved."""
    for task_id, unit in m.todo:
        saved = answer(backend, project, m, task_id, unit, references, seed)
        m.saved.append((task_id, unit.id, saved))
        advance(1)
    return len(m.saved)


def answer(backend: Connection, project: Project, m: Member, task_id: int, unit: Unit,
           references: dict[str, Label], seed: int) -> dict:
    """Save the persona's annotation of ``unit`` on its task and return it as the server has it; a
    write whose answer was lost is checked on the server before it is sent again."""
    label, lead = m.annotator.label(unit, references.get(unit.id), backend.ctx.task_type.schema, seed)
    body = {"result": backend.ctx.task_type.to_ls_result(label, unit), "lead_time": lead, "project": project.id}
    for _ in range(backend.retries + 1):
        try:
            return m.api.request("POST", f"/api/tasks/{task_id}/annotations/", json=body, idempotent=False,
                                 params={"project": project.id}, what=f"saving {m.annotator.id}'s annotation").json()
        except AmbiguousWrite:
            mine = [a for a in m.api.get(f"/api/tasks/{task_id}/annotations/") if completed_by(a)[0] == m.user_id]
            if mine:
                return mine[0]
    raise WorkbenchError(f"Label Studio at {m.api.url} kept failing to save {m.annotator.id}'s annotation on "
                         f"task {task_id}; annotations saved so far are kept: run `simulate` again")
