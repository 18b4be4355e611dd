"""The Label Studio backend: one project per campaign, real accounts for the simulated crowd.

The campaign's ``[backend]`` table picks the server: without ``url`` it is the managed server of
the workbench home (``workbench server start``; started on first use), with ``url`` and
``api_key_env`` (the name of an environment variable holding a legacy token or a personal access
token) it is any existing Label Studio. The key is read from the environment each time and is
never stored, printed or exported.

- push: ``push.py`` (batched import carrying unit ids; resumable; never a duplicate task)
- simulate: ``crowd.py`` (each persona a real user working through ``/api/projects/{id}/next/``)
- pull: ``pull.py`` (incremental by task ``updated_at``, checked against the server's totals)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ...errors import WorkbenchError
from ...server import ADMIN_EMAIL, ManagedServer
from ...store import now
from .. import Backend, BackendContext
from .client import LabelStudioAPI, NotFound

OPTIONS = {"url", "api_key_env", "batch_size", "workers", "retries"}
PROJECT_CURSOR = "labelstudio:project"  # the campaign's project, kept in the store's cursors table


@dataclass(frozen=True)
class Project:
    id: int
    server: str  # "managed" or the url of an existing server
    created_now: bool = False


class LabelStudioBackend(Backend):
    name = "labelstudio"

    def __init__(self, ctx: BackendContext, transport: httpx.BaseTransport | None = None):
        self.ctx = ctx
        self.campaign = ctx.spec.name
        self.transport = transport  # tests inject faults at the HTTP layer of a real server
        opts = dict(ctx.spec.backend_options)
        where = f"{ctx.spec.path}: backend."
        unknown = sorted(set(opts) - OPTIONS)
        if unknown:
            raise WorkbenchError(f"{where}{unknown[0]}: unknown field (expected one of {', '.join(sorted(OPTIONS))})")
        for key in ("url", "api_key_env"):
            if key in opts and (not isinstance(opts[key], str) or not opts[key]):
                raise WorkbenchError(f"{where}{key}: expected a non-empty string, got {opts[key]!r}")
        if ("url" in opts) != ("api_key_env" in opts):
            raise WorkbenchError(f"{where}url: an existing server needs both url and api_key_env "
                                 "(the name of the environment variable that holds its API key)")
        if "url" in opts and not opts["url"].startswith(("http://", "https://")):
            raise WorkbenchError(f"{where}url: expected an http:// or https:// address, got {opts['url']!r}")
        for key, default, low in (("batch_size", 500, 1), ("workers", 1, 1), ("retries", 5, 0)):
            value = opts.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise WorkbenchError(f"{where}{key}: expected an integer >= {low}, got {value!r}")
            setattr(self, key, value)
        self.url_option: str | None = opts.get("url")
        self.key_env: str | None = opts.get("api_key_env")
        self._api: LabelStudioAPI | None = None

    # ---- connection -----------------------------------------------------------------------
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

    # ---- the campaign's project -------------------------------------------------------------
    def _recorded(self) -> dict | None:
        raw = self.ctx.store.get_cursor(self.campaign, PROJECT_CURSOR)
        return json.loads(raw) if raw else None

    def marker(self) -> str:
        return f"[workbench campaign {self.campaign} spec {self.ctx.spec.fingerprint}]"

    def project(self, create: bool = False) -> Project:
        """The campaign's project: recorded in the store, found by its marker, or (push) created."""
        from .project import adopt_or_create, check_alive

        rec = self._recorded()
        if rec is not None:
            if rec["server"] != self.server_key:
                raise WorkbenchError(
                    f"campaign {self.campaign!r} was pushed to {rec['server']}, not {self.server_key}; "
                    f"`workbench server forget-project {self.campaign}` to push it to this server instead")
            check_alive(self, rec["project"])
            return Project(rec["project"], rec["server"])
        if not create:
            raise WorkbenchError(f"campaign {self.campaign!r} has no Label Studio project yet; run `push` first")
        project = adopt_or_create(self)
        with self.ctx.store.transaction():
            self.ctx.store.set_cursor(self.campaign, PROJECT_CURSOR, json.dumps(
                {"server": self.server_key, "project": project.id, "created_at": now()}))
        return project

    def project_url(self, project: Project) -> str:
        return f"{self.api.url}/projects/{project.id}/data"

    # ---- the steps ------------------------------------------------------------------------------
    def push(self, units, prelabels):
        from .push import push_units

        return push_units(self, units, prelabels)

    def simulate(self, crowd, queues, references, seed):
        from .crowd import run_crowd

        return run_crowd(self, crowd, queues, references, seed)

    def pull(self, cursor):
        from .pull import pull_annotations

        return pull_annotations(self, cursor)

    def describe(self) -> dict[str, Any]:
        rec = self._recorded()
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

    # ---- people ------------------------------------------------------------------------------------
    def invite(self, email: str) -> dict[str, Any]:
        """How a person gets in: Label Studio's invitation link (or their existing account)."""
        from .accounts import invite_link

        project = self.project()
        users = {u["email"].lower(): u for u in self.users()}
        in_spec = any((a.email or "").lower() == email.lower() for a in self.ctx.spec.annotators)
        return {"email": email, "project_url": self.project_url(project), "has_account": email.lower() in users,
                "invite_url": invite_link(self.api), "in_spec": in_spec}

    def users(self) -> list[dict]:
        body = self.api.get("/api/users/", params={"page_size": 10_000}, what="listing users")
        return body["results"] if isinstance(body, dict) else body

    def forget_project(self) -> int | None:
        """Drop the campaign's link to its project (kept on the server); annotations stay in the store."""
        rec = self._recorded()
        with self.ctx.store.transaction() as db:
            db.execute("DELETE FROM cursors WHERE campaign=? AND name IN (?, 'pull')", (self.campaign, PROJECT_CURSOR))
            db.execute("DELETE FROM backend_tasks WHERE campaign=?", (self.campaign,))
            self.ctx.store.clear_steps(self.campaign, ["push", "simulate"])
        return rec["project"] if rec else None


__all__ = ["LabelStudioBackend", "NotFound", "Project"]
