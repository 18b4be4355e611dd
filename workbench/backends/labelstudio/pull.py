"""Pull: annotations from Label Studio, only what changed since the last pull.

Label Studio bumps a task's ``updated_at`` whenever one of its annotations is created, edited or
deleted. An incremental pull lists the tasks changed since the cursor with their annotations (the
Data Manager listing with every field, page by page until the 404 after the last page), and
reports the stored annotations of those tasks that are gone as deleted. It then checks the
project's own totals against what the store will hold; a mismatch (say, annotations deleted in
bulk, which skips that bump) turns it into a full pull (every task) that repairs the store. The
listing leaves nothing on the server. A full pull from the managed server uses Label Studio's export
(twice as fast on thousands of tasks) and then removes the file that export writes to the server's
disk (each was 1.2 MB on a thousand annotations, and nothing ever removed them); on a server of
someone else's, whose disk is not ours, it lists the tasks instead.

Every result is checked against the label config with the SDK's ``LabelInterface``; a result that
does not fit carries the reason in ``RawAnnotation.error`` and is quarantined by the engine. So is
an annotation last changed by someone other than its author: Label Studio Community lets anyone in
the organization open any task and update another annotator's answer, which must never be stored
as that annotator's label.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable

from ...errors import WorkbenchError
from .. import PullBatch, RawAnnotation
from .accounts import persona_email
from .connection import Connection, Project

#: how far before the server's clock at the start of a pull the next one looks back, for a change
#: whose ``updated_at`` was stamped before that moment but committed after it; what is seen twice
#: is skipped as unchanged
MARGIN = timedelta(seconds=5)
PAGE = 500  # tasks per page of the listing (each with its annotations)


def pull_annotations(backend: Connection, cursor: str | None, known: dict[str, dict[str, Any]]) -> PullBatch:
    """What changed since ``cursor``; ``known``: ``{key: backend_ids}`` of the stored annotations."""
    api = backend.api
    project = backend.project()
    state = _parse_cursor(cursor)
    head = api.request("GET", f"/api/projects/{project.id}/", what=f"project {project.id}")
    since = _server_time(head.headers.get("date")) - MARGIN
    prefix = f"ls:{project.id}:"
    stored = {k: ids.get("task") for k, ids in known.items() if k.startswith(prefix)}
    who = annotator_ids(backend)
    check = validator(backend)
    if state and state.get("project") == project.id:
        changed = list(annotated_tasks(backend, project, state["since"]))
        annotations = convert(project, changed, who, check)
        seen = {a.key for a in annotations}
        touched = {t["id"] for t in changed}
        deleted = [k for k, task in stored.items() if task in touched and k not in seen]
        totals = head.json()
        on_server = int(totals.get("total_annotations_number") or 0) + int(totals.get("skipped_annotations_number") or 0)
        if len((set(stored) - set(deleted)) | seen) == on_server:
            return PullBatch(annotations, deleted=deleted, cursor=_cursor(project, since))
    tasks = exported_tasks(backend, project) if backend.managed else annotated_tasks(backend, project, None)
    annotations = convert(project, tasks, who, check)
    seen = {a.key for a in annotations}
    # only this project's keys: annotations from a project the campaign was moved away from stay
    return PullBatch(annotations, deleted=[k for k in stored if k not in seen], cursor=_cursor(project, since))


def _parse_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        return state if isinstance(state, dict) and "since" in state else None
    except ValueError:
        return None


def _cursor(project: Project, since: datetime) -> str:
    # the Data Manager's Datetime filter wants exactly this format
    return json.dumps({"project": project.id, "since": since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})


def _server_time(date_header: str | None) -> datetime:
    try:
        return parsedate_to_datetime(date_header).astimezone(timezone.utc)
    except (TypeError, ValueError):
        return datetime.now(timezone.utc)


def annotated_tasks(backend: Connection, project: Project, since: str | None) -> Iterable[dict]:
    """Every task of the project with its annotations, or those changed since ``since``."""
    filters = None if since is None else [{"filter": "filter:tasks:updated_at", "operator": "greater_or_equal",
                                           "type": "Datetime", "value": since}]
    yield from backend.api.tasks(project.id, include=None, fields="all", filters=filters, page_size=PAGE)


def exported_tasks(backend: Connection, project: Project) -> list[dict]:
    """Every annotated task through Label Studio's JSON export; the file it leaves in the managed
    server's data dir (``export/project-N-at-*.json``, written by no one else) is removed."""
    try:
        body = backend.api.get(f"/api/projects/{project.id}/export",
                               params={"exportType": "JSON", "download_all_tasks": "false"},
                               what=f"exporting project {project.id}")
    finally:
        for leftover in (backend.server.data_dir / "export").glob(f"project-{project.id}-at-*.json"):
            leftover.unlink(missing_ok=True)
    if not isinstance(body, list):
        raise WorkbenchError("Label Studio answered an export with something other than a list")
    return body


def annotator_ids(backend: Connection) -> dict[int, str]:
    """Label Studio user id -> annotator id: personas by their account, people by their email."""
    by_email = {persona_email(backend.campaign, a.id): a.id for a in backend.ctx.spec.annotators if a.simulated}
    by_email.update({a.email.lower(): a.id for a in backend.ctx.spec.annotators if a.email})
    return {u["id"]: by_email.get(u["email"].lower(), u["email"]) for u in backend.users()}


def validator(backend: Connection):
    """``check(result) -> reason or None``: the result against the project's label config."""
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(backend.ctx.task_type.label_config())

    def check(result: Any) -> str | None:
        if not isinstance(result, list):
            return f"result is not a list: {str(result)[:80]}"
        errors = interface.validate_prediction({"result": result}, return_errors=True)
        return "does not fit the label config: " + "; ".join(errors)[:300] if errors else None

    return check


def user_id(user: Any) -> Any:
    """The id of a user field, which Label Studio sends as the id or as the whole user object."""
    return user.get("id") if isinstance(user, dict) else user


def completed_by(annotation: dict) -> tuple[Any, dict | None]:
    """The annotation's user id, and the user object when the server sent one (not just its id)."""
    user = annotation.get("completed_by")
    return user_id(user), user if isinstance(user, dict) else None


def updated_by(annotation: dict) -> Any:
    """Who last changed the annotation (its author, unless someone else pressed Update on it)."""
    return user_id(annotation.get("updated_by"))


def convert(project: Project, tasks: Iterable[dict], who: dict[int, str], check) -> list[RawAnnotation]:
    out = []
    for task in tasks:
        unit_id = (task.get("data") or {}).get("unit_id")
        for a in task.get("annotations") or []:
            user_id, user = completed_by(a)
            annotator = who.get(user_id) or (user.get("email") if user else None) or f"ls-user-{user_id}"
            cancelled = bool(a.get("was_cancelled"))
            error = None
            editor = updated_by(a)
            if unit_id is None:
                error = f"task {task['id']} has no unit_id in its data (not pushed by this campaign)"
            elif editor is not None and user_id is not None and editor != user_id:
                error = (f"last changed by {who.get(editor) or f'ls-user-{editor}'}, not by its author {annotator}: "
                         "Label Studio lets anyone update another annotator's answer; not counted as theirs")
            elif not cancelled:
                error = check(a.get("result"))
            out.append(RawAnnotation(
                key=f"ls:{project.id}:{a['id']}", annotator_id=annotator,
                unit_id=str(unit_id) if unit_id is not None else f"(task {task['id']})",
                result=a.get("result") if isinstance(a.get("result"), list) else None, was_cancelled=cancelled,
                lead_time=a.get("lead_time"), created_at=a.get("created_at"), updated_at=a.get("updated_at"),
                backend_ids={"project": project.id, "task": task["id"], "annotation": a["id"], "user": user_id},
                error=error))
    return out
