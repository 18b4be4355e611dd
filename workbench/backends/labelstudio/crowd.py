"""The simulated crowd in Label Studio: each persona a real user asking the server's queue for work.

Every persona has its own account and token (``accounts.py``) and calls
``GET /api/projects/{id}/next/`` as itself, so Label Studio's own distribution (overlap, locks,
what each user has already done) decides who labels what, exactly as for people. A persona stops
after as many tasks as the campaign's assignment planned for it, or when the server has nothing
left for it. Because the server, not the plan, picks the tasks, a persona can use up its share on
tasks planned for another while the only ones left are ones it alone may still do (a newcomer's
honeypots, say); so when the crowd as a whole has done less than planned for it, whoever still gets
work from the server goes on until the crowd's share is done. Rounds go through the personas in a
seeded order, so with ``workers = 1`` a run is reproducible; ``workers > 1`` lets personas work at
the same time, as people do, and then Label Studio may hand a task to more annotators than its
overlap (those are flagged ``extra`` on pull).

Places the plan keeps for people are held while the crowd works: Label Studio does not know whose
place a task has room for, so the crowd would take a person's places on some tasks and leave others
with none (on the sample campaigns, 42 of 297 units ended with no label at all). For the crowd's
run, each task with a person's place still open is lowered to the places the crowd may take, and
set back to the planned number afterwards (also when the run fails; a run killed outright leaves
them lowered until the next ``simulate``, which sets them back).
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ...errors import WorkbenchError
from ...models import Label, Unit
from ...simulate import SimulatedAnnotator
from .accounts import Credentials, invite_token, persona_api, persona_email
from .client import AmbiguousWrite, LabelStudioAPI
from .connection import Connection, Project
from .pull import annotator_ids, completed_by, user_id
from .push import finished_by, set_overlaps


class Member:
    """One persona at work: its annotator, its own API client, its user id, what it may still do."""

    def __init__(self, annotator: SimulatedAnnotator, api: LabelStudioAPI, user_id: int, quota: int):
        self.annotator = annotator
        self.api = api
        self.user_id = user_id
        self.planned = quota  # tasks the plan has for this persona
        self.done = 0  # tasks it has done in the project
        self.quota = quota


def run_crowd(backend: Connection, crowd: list[SimulatedAnnotator], queues: dict[str, list[Unit]],
              references: dict[str, Label], seed: int, limits: dict[str, int] | None = None) -> int:
    """``limits``: ``{annotator: n}``, a persona stops once it has done ``n`` tasks in the project
    (a gated campaign works in stages and judges annotators between them)."""
    project = backend.project()
    restore = hold_people_places(backend, project, queues)
    try:
        return _run(backend, project, crowd, queues, references, seed, limits or {})
    finally:
        set_overlaps(backend, restore)


def hold_people_places(backend: Connection, project: Project, queues: dict[str, list[Unit]]) -> dict[str, int]:
    """Lower each task with a person's place still open (planned, not yet labeled by them) to the
    places the crowd may take; return ``{task id: planned overlap}`` to set back afterwards."""
    people = {a.id for a in backend.ctx.spec.annotators if not a.simulated} & set(queues)
    planned = Counter(u.id for q in queues.values() for u in q)
    theirs: dict[str, set[str]] = {}
    for person in people:
        for u in queues[person]:
            theirs.setdefault(u.id, set()).add(person)
    if not theirs:
        return {}
    who = annotator_ids(backend)
    lower, restore, finished = {}, {}, {}
    for task in backend.api.tasks(project.id, include=None, fields="all"):
        unit = (task.get("data") or {}).get("unit_id")
        if unit not in theirs:
            continue
        done = {who.get(completed_by(a)[0]) for a in task.get("annotations") or []}
        held = len(theirs[unit] - done)
        during = planned[unit] - held
        if int(task.get("overlap") or 0) != during:  # also one a killed run left lowered
            lower[str(task["id"])] = during
            finished[str(task["id"])] = finished_by(task)
        if held:
            restore[str(task["id"])] = planned[unit]
    set_overlaps(backend, lower, finished)  # counted from this listing: no second one
    return restore


def _run(backend: Connection, project: Project, crowd: list[SimulatedAnnotator], queues: dict[str, list[Unit]],
         references: dict[str, Label], seed: int, limits: dict[str, int]) -> int:
    units = {u.id: u for q in queues.values() for u in q}
    members = enlist(backend, project, crowd, queues, limits)
    # what the plan still has for the crowd as a whole (a persona may have done another's share)
    share = max(0, sum(m.planned for m in members) - sum(m.done for m in members))
    advance = backend.ctx.progress(f"{backend.campaign}: simulated crowd in Label Studio", share)
    rng = random.Random(f"{seed}:{backend.campaign}:rounds")
    made = 0
    with ThreadPoolExecutor(max_workers=backend.workers) as pool:
        active = [m for m in members if m.quota > 0]
        while active and made < share:
            rng.shuffle(active)
            active = active[:share - made] if backend.workers > 1 else active
            if backend.workers == 1:
                outcomes = []
                for m in active:
                    outcomes.append(made + sum(outcomes) < share
                                    and work_one(backend, project, m, units, references, seed))
            else:
                outcomes = list(pool.map(lambda m: work_one(backend, project, m, units, references, seed), active))
            for m, did in zip(active, outcomes):
                if did:
                    m.quota -= 1
                    made += 1
                    advance(1)
            active = [m for m, did in zip(active, outcomes) if did and m.quota > 0]
    # the crowd's share is not done: whoever still gets work from the server goes on, one at a time
    while made < share:
        progressed = False
        for m in rng.sample(members, len(members)):
            if made < share and work_one(backend, project, m, units, references, seed):
                made += 1
                advance(1)
                progressed = True
        if not progressed:
            break
    for m in members:
        m.api.close()
    return made


def enlist(backend: Connection, project: Project, crowd: list[SimulatedAnnotator],
           queues: dict[str, list[Unit]], limits: dict[str, int] | None = None) -> list[Member]:
    """Accounts for the personas, and how much each may still do (planned minus already done here)."""
    creds = Credentials(backend.home_dir / "credentials.json")
    url = backend.api.url
    token = invite_token(backend.api)  # sign-up is by invitation only on the managed server
    members = []
    for a in crowd:
        api = persona_api(url, persona_email(backend.campaign, a.id), a.id, creds, backend.transport,
                          server=backend.server_key, invite_token=token)
        api.retries = backend.retries
        planned = len(queues.get(a.id, []))
        members.append(Member(a, api, api.whoami()["id"], min(planned, (limits or {}).get(a.id, planned))))
    done: Counter = Counter()
    # "annotators" is filled in only when every field is asked for (with fields=task_only it is [])
    for task in backend.api.tasks(project.id, include="id,annotators", fields="all"):
        for user in task.get("annotators") or []:
            done[user_id(user)] += 1
    for m in members:
        m.done = done[m.user_id]
        m.quota = max(0, m.planned - m.done)
    return members


def work_one(backend: Connection, project: Project, m: Member, units: dict[str, Unit],
             references: dict[str, Label], seed: int) -> bool:
    """Ask the queue for one task as the persona and answer it; False when the queue is empty."""
    r = m.api.request("GET", f"/api/projects/{project.id}/next/", ok=(200, 404),
                      what=f"the next task for {m.annotator.id}")
    if r.status_code == 404:
        return False
    task = r.json()
    unit = units.get((task.get("data") or {}).get("unit_id"))
    if unit is None:
        # a task this campaign did not push: the persona skips it, as a person would
        body = {"result": [], "was_cancelled": True, "lead_time": 1.0, "project": project.id}
    else:
        label, lead = m.annotator.label(unit, references.get(unit.id), backend.ctx.task_type.schema, seed)
        body = {"result": backend.ctx.task_type.to_ls_result(label, unit), "lead_time": lead,
                "project": project.id}
    for _ in range(backend.retries + 1):
        try:
            m.api.request("POST", f"/api/tasks/{task['id']}/annotations/", json=body, idempotent=False,
                          params={"project": project.id}, what=f"saving {m.annotator.id}'s annotation")
            return True
        except AmbiguousWrite:
            mine = [a for a in m.api.get(f"/api/tasks/{task['id']}/annotations/")
                    if completed_by(a)[0] == m.user_id]
            if mine:
                return True
    raise WorkbenchError(f"Label Studio at {m.api.url} kept failing to save {m.annotator.id}'s annotation on "
                         f"task {task['id']}; annotations saved so far are kept: run `simulate` again")
