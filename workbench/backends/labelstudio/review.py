"""Review in Label Studio: one review project per campaign, tasks added round by round.

A review task shows what the annotators saw (the text, its context), the votes under per-unit
pseudonyms with their shares (``annotator A``...; never who they are), why the unit was sent, and
the task type's own controls with the consensus pre-selected: it is imported as the task's
prediction and the project shows predictions (``show_collab_predictions``, the project's
``model_version``), so the reviewer keeps it with one click or picks another label (span tasks:
corrects the spans). Each task's overlap is the number of reviewers the campaign plans for the unit.

Simulated reviewers are real Label Studio users, as the simulated crowd is (``crowd.py``): each
answers, as its persona, the review tasks the review round planned for it. A person reviewer (an
``email`` in ``[review] reviewers``) gets the review project's link and works through its stream. Only the declared reviewers'
answers are verdicts; an answer changed by someone other than its author is not one.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from ...errors import WorkbenchError
from ...store import now
from .accounts import invite_link, persona_email
from .client import AmbiguousWrite
from .connection import Connection, Project, title_for
from .pull import completed_by, updated_by
from .push import finished_by, server_units, set_overlaps

if TYPE_CHECKING:  # pragma: no cover
    from ...review import RawVerdict, ReviewTask
    from ...simulate import SimulatedAnnotator

REVIEW_PROJECT = "review_project"  # the key of the review project in the backend's state
MODEL_VERSION = "workbench consensus"  # what the pre-selected consensus is tagged with
HEADER = ("Review: the annotators disagreed on this unit. Their votes are below, and the consensus is "
          "pre-selected: keep it, or pick the right label, then Submit.")


def review_config(label_config: str) -> str:
    """The task type's label config with the review header and the votes above it."""
    head = label_config.index("<View>") + len("<View>")
    extra = (f"\n  <Header value={quoteattr(HEADER)} size=\"5\"/>"
             "\n  <View style=\"white-space: pre-wrap; background: #f6f6f6; padding: 6px; font-size: 0.9em\">"
             "\n    <Text name=\"review_votes\" value=\"$review_votes\"/>\n  </View>")
    return label_config[:head] + extra + label_config[head:]


def marker(campaign: str) -> str:
    return f"[workbench review {campaign}]"


def review_project(conn: Connection, create: bool = False) -> Project | None:
    """The campaign's review project: recorded, found by its marker, or (``create``) made."""
    state = conn.ctx.state
    assert state is not None
    rec = state.get(REVIEW_PROJECT)
    if rec is not None and rec.get("server") == conn.server_key:
        info = conn.check_alive(rec["project"])
        return Project(rec["project"], rec["server"], maximum=info.get("maximum_annotations"))
    if not create:
        return None
    api = conn.api
    for p in api.get("/api/projects/", params={"page_size": 1000}, what="listing projects").get("results", []):
        if marker(conn.campaign) in (p.get("description") or ""):
            project = Project(p["id"], conn.server_key, maximum=p.get("maximum_annotations"))
            break
    else:
        from label_studio_sdk.label_interface import LabelInterface

        config = review_config(conn.checked_label_config())
        LabelInterface(config).validate()
        spec = conn.ctx.spec
        created = api.post("/api/projects/", {
            "title": title_for(f"{conn.campaign} review")[:50],
            "description": f"Review of campaign {conn.campaign}: the units the crowd left in doubt.\n\n"
                           + marker(conn.campaign),
            "label_config": config, "maximum_annotations": spec.review.per_unit if spec.review else 1,
            "enable_empty_annotation": conn.ctx.task_type.schema.kind.value in ("multi", "spans"),
            "show_instruction": True, "show_skip_button": True, "show_annotation_history": False,
            "expert_instruction": f"<p><b>{HEADER}</b></p>",
            "show_collab_predictions": True,
        }, what=f"creating the review project of campaign {conn.campaign!r}")
        project = Project(created["id"], conn.server_key, created_now=True,
                          maximum=created.get("maximum_annotations"))
    state.put(REVIEW_PROJECT, {"server": conn.server_key, "project": project.id, "created_at": now()})
    return project


def push_review(conn: Connection, tasks: list["ReviewTask"]) -> dict[tuple[str, str], str]:
    """One Label Studio task per unit (overlap: its reviewers), the consensus as its prediction."""
    if not tasks:
        return {}
    project = review_project(conn, create=True)
    assert project is not None
    tt = conn.ctx.task_type
    per_unit = Counter(t.unit.id for t in tasks)
    first = {}
    for t in tasks:
        first.setdefault(t.unit.id, t)
    there = server_units(conn, project)
    todo = [t for u, t in first.items() if u not in there]
    for start in range(0, len(todo), conn.batch_size):
        batch = todo[start:start + conn.batch_size]
        body = [{"data": {**tt.task_data(t.unit), "review_votes": t.votes_text(), "review_round": t.round},
                 "predictions": [{"result": tt.to_ls_result(t.consensus, t.unit), "score": round(t.confidence, 4),
                                  "model_version": MODEL_VERSION}]} for t in batch]
        try:
            answer = conn.api.post(f"/api/projects/{project.id}/import", body, params={"return_task_ids": "true"},
                                   idempotent=False, what=f"importing {len(body)} review tasks")
            ids = answer.get("task_ids") or []
        except AmbiguousWrite:
            ids = []
        if len(ids) == len(batch):
            there.update({t.unit.id: i for t, i in zip(batch, ids)})
        else:  # the outcome is unknown: look
            there = server_units(conn, project)
            missing = [t.unit.id for t in batch if t.unit.id not in there]
            if missing:
                raise WorkbenchError(f"campaign {conn.campaign!r}: importing review tasks into Label Studio project "
                                     f"{project.id} failed for {len(missing)} unit(s); run `review` again")
    overlaps = {str(there[u]): n for u, n in per_unit.items() if u in there}
    set_overlaps(conn, {t: n for t, n in overlaps.items() if n != project.maximum}, finished=finished(conn, project))
    # the project shows our predictions (the consensus) pre-selected
    conn.api.request("PATCH", f"/api/projects/{project.id}/", ok=(200, 400), json={"model_version": MODEL_VERSION})
    return {(t.unit.id, t.reviewer): str(there[t.unit.id]) for t in tasks if t.unit.id in there}


def finished(conn: Connection, project: Project) -> dict[str, int]:
    from .push import finished_by

    return {str(t["id"]): finished_by(t) for t in conn.api.tasks(project.id, include=None, fields="all")}


def simulate_review(conn: Connection, reviewers: list["SimulatedAnnotator"], tasks: list["ReviewTask"],
                    references: dict, seed: int) -> int:
    """Each simulated reviewer, as its own Label Studio user, answers the review tasks planned for it
    (as the simulated crowd does, ``crowd.py``), but for those it answered already or that are full
    (a person reviewer took the place through the stream): a run cut off half way resumes."""
    from .crowd import account

    project = review_project(conn)
    if project is None or not tasks:
        return 0
    listed = {}
    for task in conn.api.tasks(project.id, include=None, fields="all"):
        unit = (task.get("data") or {}).get("unit_id")
        if unit is not None and (unit not in listed or task["id"] < listed[unit]["id"]):
            listed[unit] = task
    tt = conn.ctx.task_type
    todo = []
    for r in reviewers:
        mine = [t for t in tasks if t.reviewer == r.id and t.unit.id in listed]
        if not mine:
            continue
        api, me = account(conn, r.id)
        for t in mine:
            task = listed[t.unit.id]
            anns = task.get("annotations") or []
            if me not in {completed_by(a)[0] for a in anns} and finished_by(task) < int(task.get("overlap") or 1):
                todo.append((r, api, t, task["id"]))

    def save(item) -> None:
        r, api, t, task_id = item
        label, lead = r.label(t.unit, references.get(t.unit.id), tt.schema, seed)
        body = {"result": tt.to_ls_result(label, t.unit), "lead_time": lead, "project": project.id}
        api.request("POST", f"/api/tasks/{task_id}/annotations/", json=body, params={"project": project.id},
                    what=f"saving {r.id}'s verdict")

    conn.each(save, todo)  # verdicts do not depend on one another (a reviewer's client is shared)
    return len(todo)


def pull_review(conn: Connection) -> list["RawVerdict"]:
    """Every answer in the review project by a declared reviewer (skips marked as such)."""
    from ...review import RawVerdict

    project = review_project(conn)
    spec = conn.ctx.spec
    if project is None or spec.review is None:
        return []
    by_email = {persona_email(conn.campaign, r.id): r.id for r in spec.review.reviewers if r.simulated}
    by_email.update({r.email.lower(): r.id for r in spec.review.reviewers if r.email})
    who = {u["id"]: by_email.get(u["email"].lower()) for u in conn.users()}
    out = []
    for task in conn.api.tasks(project.id, include=None, fields="all"):
        unit = (task.get("data") or {}).get("unit_id")
        for a in task.get("annotations") or []:
            uid, _ = completed_by(a)
            reviewer = who.get(uid)
            editor = updated_by(a)
            if unit is None or reviewer is None or (editor is not None and editor != uid):
                continue
            out.append(RawVerdict(str(unit), reviewer, a.get("result") if isinstance(a.get("result"), list) else None,
                                  a.get("updated_at") or a.get("created_at"), skipped=bool(a.get("was_cancelled")),
                                  backend_ids={"project": project.id, "task": task["id"], "annotation": a["id"]}))
    return out


def review_notes(conn: Connection, people: list[str]) -> list[str]:
    """Where a person reviewer goes: the review project's stream (after signing up by the invitation)."""
    project = review_project(conn)
    if project is None:
        return []
    public = conn.public_url
    stream = conn.stream_url(project)
    link = invite_link(conn.api)
    if public != conn.api.url:
        link = public + link[len(conn.api.url):]
    landing = quote(stream[len(public):], safe="/")
    return [f"reviewers ({', '.join(people)}): the review queue is {stream}; without an account, sign up at "
            f"{link}&next={landing} (as the email named in the campaign's [review] table)"]
