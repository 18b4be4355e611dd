"""The campaign's Label Studio: which server, the admin's API client, and the campaign's project.

The campaign's ``[backend]`` table picks the server: without ``url`` it is the managed server of
the workbench home (``workbench server start``; started on first use), with ``url`` and
``api_key_env`` (the name of an environment variable holding a legacy token or a personal access
token) it is any existing Label Studio. The key is read from the environment each time and is
never stored, printed or exported.

The project is recorded in the backend's own state; a project also carries a marker in its
description (campaign name), so a project created by a push that was killed before it could
record the id is found again, not duplicated. Its label config is checked by the SDK's own parser
before the server sees it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import httpx

from ...errors import WorkbenchError
from ...models import LabelKind
from ...registry import plugin_version
from ...store import now
from .client import LabelStudioAPI, NotFound
from .options import DEFAULTS, check_options
from .server import ManagedServer

if TYPE_CHECKING:  # pragma: no cover
    from .. import BackendContext

PROJECT = "project"  # the key of the project record in the backend's state


@dataclass(frozen=True)
class Project:
    id: int
    server: str  # "managed" or the url of an existing server
    created_now: bool = False
    maximum: int | None = None  # the project's default overlap (maximum_annotations)


class Connection:
    """The campaign's server, its admin client (checked once) and its project."""

    name = "labelstudio"

    def __init__(self, ctx: "BackendContext", transport: httpx.BaseTransport | None = None):
        self.ctx = ctx
        self.campaign = ctx.spec.name
        self.transport = transport  # tests inject faults at the HTTP layer of a real server
        opts = dict(ctx.spec.backend_options)
        problems = check_options(opts)
        if problems:
            field, problem = problems[0]
            raise WorkbenchError(f"{ctx.spec.path}: backend.{field}: {problem}")
        for key, (default, _) in DEFAULTS.items():
            setattr(self, key, opts.get(key, default))
        self.url_option: str | None = opts.get("url")
        self.key_env: str | None = opts.get("api_key_env")
        #: whether a person's task opens pre-filled with the plugin's pre-label (the spec's choice)
        self.show_prelabels: bool = ctx.spec.show_prelabels
        self._api: LabelStudioAPI | None = None
        #: the simulated personas' own clients and user ids, ``{email: (client, user id)}`` (crowd.py)
        self.personas: dict[str, tuple[LabelStudioAPI, Any]] = {}
        #: ``(project, task id, unit, annotation as the server answered its save)`` of the crowd's last run
        self.saved: list[tuple[Project, int, str, dict]] = []

    # ---- the server ---------------------------------------------------------------------------
    def each(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> None:
        """``fn(item)`` for every item: one after the other with ``workers`` 1, else ``workers`` at a
        time on threads (the crowd's saves, overlap PATCHes, review verdicts: requests that do not
        depend on one another)."""
        items = list(items)
        if self.workers <= 1 or len(items) <= 1:
            for item in items:
                fn(item)
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
                list(pool.map(fn, items))

    @property
    def managed(self) -> bool:
        return self.url_option is None

    @property
    def server_key(self) -> str:
        return "managed" if self.managed else self.url_option.rstrip("/")

    @property
    def server(self) -> ManagedServer:
        return ManagedServer(self.ctx.store.home)

    @property
    def home_dir(self) -> Path:
        return self.ctx.store.home / "labelstudio"

    @property
    def api(self) -> LabelStudioAPI:
        """The admin's client, checked once: an unreachable server or a bad key fails here, clearly."""
        if self._api is None:
            if self.managed:
                url, key = self.server.ensure_running()
                source = f"the token in {self.server.token_file}"
            else:
                url, key = self.url_option, os.environ.get(self.key_env or "", "")
                source = f"the API key in ${self.key_env}"
                if not key:
                    raise WorkbenchError(f"{self.ctx.spec.path}: backend.api_key_env: environment variable "
                                         f"{self.key_env} is not set (it should hold the Label Studio API key)")
            api = LabelStudioAPI(url, key, key_source=source, retries=self.retries, transport=self.transport)
            self.me = api.whoami()
            self._api = api
        return self._api

    def users(self) -> list[dict]:
        body = self.api.get("/api/users/", params={"page_size": 10_000}, what="listing users")
        return body["results"] if isinstance(body, dict) else body

    # ---- the campaign's project ---------------------------------------------------------------
    def recorded(self) -> dict | None:
        return self.ctx.state.get(PROJECT)

    def marker(self) -> str:
        return f"[workbench campaign {self.campaign}]"

    def project(self, create: bool = False) -> Project:
        """The campaign's project: recorded in the backend's state, found by its marker, or (push) created."""
        rec = self.recorded()
        if rec is not None:
            if rec["server"] != self.server_key:
                raise WorkbenchError(
                    f"campaign {self.campaign!r} was pushed to {rec['server']}, not {self.server_key}; "
                    f"`workbench server forget-project {self.campaign}` to push it to this server instead")
            info = self.check_alive(rec["project"])
            self.settle_settings(rec["project"], info)
            return Project(rec["project"], rec["server"], maximum=info.get("maximum_annotations"))
        if not create:
            raise WorkbenchError(f"campaign {self.campaign!r} has no Label Studio project yet; run `push` first")
        project = self.adopt_or_create()
        self.ctx.state.put(PROJECT, {"server": self.server_key, "project": project.id, "created_at": now()})
        return project

    @property
    def public_url(self) -> str:
        """The address people use: the managed server's public URL when one is set (``server start
        --public-url``), else the one this machine uses."""
        public = self.server.public_url() if self.managed else None
        return public.rstrip("/") if public else self.api.url

    def project_url(self, project: Project) -> str:
        """The project's Data Manager (every task; for whoever runs the campaign)."""
        return f"{self.public_url}/projects/{project.id}/data"

    def stream_url(self, project: Project) -> str:
        """The project's labeling stream ("Label All Tasks"): one task at a time, never someone else's."""
        return f"{self.public_url}/projects/{project.id}/data?labeling=1"

    def checked_label_config(self) -> str:
        """The task type's label config, validated by the SDK's own parser before the server sees it."""
        from label_studio_sdk.label_interface import LabelInterface

        tt = self.ctx.task_type
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

    def adopt_or_create(self) -> Project:
        config = self.checked_label_config()
        api = self.api
        marker = self.marker()
        page = 1
        while True:  # an earlier push may have created it and died before recording it
            r = api._send("GET", "/api/projects/", params={"page": page, "page_size": 100})
            if r.status_code == 404:
                break
            body = api.request("GET", "/api/projects/", params={"page": page, "page_size": 100},
                               what="listing projects").json() if r.status_code != 200 else r.json()
            items = body.get("results", []) if isinstance(body, dict) else body
            for p in items:
                if marker in (p.get("description") or "") or _legacy_marker(self.campaign, p.get("description")):
                    return Project(p["id"], self.server_key, maximum=p.get("maximum_annotations"))
            if not isinstance(body, dict) or not body.get("next"):
                break
            page += 1
        spec = self.ctx.spec
        description = (spec.description + "\n\n" if spec.description else "") + marker
        created = api.post("/api/projects/", {
            "title": title_for(self.campaign), "description": description, "label_config": config,
            "maximum_annotations": spec.overlap,
            # an empty answer is an answer where the schema has one (no topic applies, no entity in the sentence)
            "enable_empty_annotation": self.ctx.task_type.schema.kind in (LabelKind.MULTI, LabelKind.SPANS),
            **self.people_settings(),
        }, what=f"creating the project for campaign {self.campaign!r} (label config rejected?)")
        return Project(created["id"], self.server_key, created_now=True, maximum=created.get("maximum_annotations"))

    def people_settings(self) -> dict:
        """The project settings that decide what a person sees: the instructions, a Skip button, no
        history of others' edits, and the plugin's pre-labels only when the spec shows them."""
        return {"show_instruction": True, "show_skip_button": True, "show_annotation_history": False,
                "expert_instruction": instructions_html(self.ctx.task_type.instructions),
                "show_collab_predictions": self.show_prelabels}

    def settle_settings(self, project_id: int, info: dict) -> None:
        """Bring a project made earlier (or by an older release, or changed in the UI) in line with
        :meth:`people_settings`."""
        wanted = self.people_settings()
        if any(info.get(k) != v for k, v in wanted.items() if k in info):
            self.api.patch(f"/api/projects/{project_id}/", wanted, what=f"updating project {project_id}'s settings")
        if self.show_prelabels and not info.get("model_version"):
            # hiding pre-labels cleared the project's prediction set; showing them again names ours (Label
            # Studio refuses, 400, when the project has none of our predictions: nothing to show then)
            self.api.request("PATCH", f"/api/projects/{project_id}/", ok=(200, 400),
                             json={"model_version": self.model_version()})

    def model_version(self) -> str:
        """What the pre-labels are tagged with in Label Studio: the task type's plugin and its version."""
        plugin, version = plugin_version(self.ctx.registry, "task_types", self.ctx.task_type.name)
        return f"{plugin} {version}" if version else plugin

    def check_alive(self, project_id: int) -> dict:
        try:
            return self.api.get(f"/api/projects/{project_id}/", what=f"project {project_id}")
        except NotFound:
            raise WorkbenchError(
                f"campaign {self.campaign!r}: Label Studio project {project_id} at {self.api.url} is gone "
                f"(deleted on the server?); annotations pulled before stay in the store; "
                f"`workbench server forget-project {self.campaign}` lets the next push create a new project") from None

    def describe(self) -> dict[str, Any]:
        from .server import ADMIN_EMAIL

        rec = self.recorded()
        out: dict[str, Any] = {"backend": self.name, "server": self.server_key}
        if rec is None:
            return out
        out["url"] = self.project_url(Project(rec["project"], rec["server"]))
        if self.managed:
            out["login"] = (f"{ADMIN_EMAIL} with the password in {self.server.admin_file}; "
                            f"people: `workbench invite {self.campaign} EMAIL`")
        else:
            out["login"] = f"your account on {self.api.url}; people: `workbench invite {self.campaign} EMAIL`"
        return out


def instructions_html(question: str) -> str:
    """What a person reads before the first task: the question, and how to work in the stream."""
    from html import escape

    head = f"<p><b>{escape(question)}</b></p>" if question else ""
    return (head + "<p>Work through your tasks in the labeling stream (<b>Label All Tasks</b>; the link you were "
            "sent opens it): one task at a time, <b>Submit</b> your answer, or <b>Skip</b> a task you cannot "
            "judge.</p><p>Please do not open other people's answers from the task list, nor change them: an "
            "answer changed by someone other than its author is not counted.</p>")


def title_for(campaign: str) -> str:
    # Label Studio wants 3..50 characters
    return campaign if 3 <= len(campaign) <= 50 else f"workbench {campaign}"[:50]


def _legacy_marker(campaign: str, description: str | None) -> bool:
    """Workbench 0.1 put the spec's fingerprint in the marker: ``[workbench campaign NAME spec HEX]``."""
    return bool(description) and f"[workbench campaign {campaign} spec " in description
