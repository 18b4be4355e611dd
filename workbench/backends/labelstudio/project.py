"""The campaign's Label Studio project: its label config checked before use, created once.

A project carries a marker in its description (campaign name and spec fingerprint), so a project
created by a push that was killed before it could record the id is found again, not duplicated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import WorkbenchError
from .client import NotFound

if TYPE_CHECKING:  # pragma: no cover
    from . import LabelStudioBackend, Project


def checked_label_config(backend: "LabelStudioBackend") -> str:
    """The task type's label config, validated by the SDK's own parser before the server sees it."""
    from label_studio_sdk.label_interface import LabelInterface

    tt = backend.ctx.task_type
    config = tt.label_config()
    try:
        interface = LabelInterface(config)
        interface.validate()
    except Exception as exc:  # the SDK raises several unrelated exception types for bad XML
        raise WorkbenchError(f"task type {tt.name!r}: its Label Studio label config is invalid: "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    names = {c.name for c in interface.controls}
    if tt.from_name not in names:
        raise WorkbenchError(f"task type {tt.name!r}: its label config has no control named {tt.from_name!r} "
                             f"(from_name); it has {sorted(names)}")
    return config


def title_for(campaign: str) -> str:
    # Label Studio wants 3..50 characters
    return campaign if 3 <= len(campaign) <= 50 else f"workbench {campaign}"[:50]


def adopt_or_create(backend: "LabelStudioBackend") -> "Project":
    from . import Project

    config = checked_label_config(backend)
    api = backend.api
    marker = backend.marker()
    page = 1
    while True:  # an earlier push may have created it and died before recording it
        r = api._send("GET", "/api/projects/", params={"page": page, "page_size": 100})
        if r.status_code == 404:
            break
        body = api.request("GET", "/api/projects/", params={"page": page, "page_size": 100},
                           what="listing projects").json() if r.status_code != 200 else r.json()
        items = body.get("results", []) if isinstance(body, dict) else body
        for p in items:
            if marker in (p.get("description") or ""):
                return Project(p["id"], backend.server_key)
        if not isinstance(body, dict) or not body.get("next"):
            break
        page += 1
    spec = backend.ctx.spec
    description = (spec.description + "\n\n" if spec.description else "") + marker
    created = api.post("/api/projects/", {
        "title": title_for(backend.campaign), "description": description, "label_config": config,
        "maximum_annotations": spec.overlap, "show_skip_button": True, "enable_empty_annotation": False,
        "show_instruction": bool(backend.ctx.task_type.instructions),
        "expert_instruction": backend.ctx.task_type.instructions or "",
    }, what=f"creating the project for campaign {backend.campaign!r} (label config rejected?)")
    return Project(created["id"], backend.server_key, created_now=True)


def check_alive(backend: "LabelStudioBackend", project_id: int) -> None:
    try:
        backend.api.get(f"/api/projects/{project_id}/", what=f"project {project_id}")
    except NotFound:
        raise WorkbenchError(
            f"campaign {backend.campaign!r}: Label Studio project {project_id} at {backend.api.url} is gone "
            f"(deleted on the server?); annotations pulled before stay in the store; "
            f"`workbench server forget-project {backend.campaign}` lets the next push create a new project") from None
