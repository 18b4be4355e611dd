"""The Label Studio backend: one project per campaign, real accounts for the simulated crowd.

- the server and the project: ``connection.py``
- push: ``push.py`` (batched import carrying unit ids; resumable; never a duplicate task; each task's
  overlap is the number of annotators the campaign plans for its unit, raised for a new round)
- simulate: ``crowd.py`` (each persona a real user working through ``/api/projects/{id}/next/``)
- pull: ``pull.py`` (incremental by task ``updated_at``, checked against the server's totals)
"""

from __future__ import annotations

import sys
from typing import Any

import httpx

from .. import PULL_CURSOR, Backend, BackendContext
from .connection import Connection


class LabelStudioBackend(Backend):
    name = "labelstudio"

    def __init__(self, ctx: BackendContext, transport: httpx.BaseTransport | None = None):
        self.ctx = ctx
        self.conn = Connection(ctx, transport)

    @property
    def api(self):
        return self.conn.api

    def project(self, create: bool = False):
        return self.conn.project(create)

    # ---- the steps ------------------------------------------------------------------------------
    def push(self, units, prelabels, overlaps, record):
        from .push import push_units

        return push_units(self.conn, units, prelabels, overlaps, record)

    def set_overlaps(self, overlaps):
        from .push import set_overlaps

        set_overlaps(self.conn, overlaps)

    def simulate(self, crowd, queues, references, seed):
        from .crowd import run_crowd

        return run_crowd(self.conn, crowd, queues, references, seed)

    def pull(self, known):
        from .pull import pull_annotations

        return pull_annotations(self.conn, self.ctx.state.get(PULL_CURSOR), known)

    def describe(self) -> dict[str, Any]:
        return self.conn.describe()

    def forget(self) -> None:
        from .connection import PROJECT

        self.ctx.state.delete(PROJECT)

    def prepare(self) -> None:
        if self.conn.managed:
            server = self.conn.server
            if not server.status()["running"]:
                print("starting the managed Label Studio (a first start takes about a minute)...", file=sys.stderr)
                server.start()

    def closing_notes(self) -> list[str]:
        if not self.conn.managed:
            return []
        info = self.conn.server.status()
        if not info["running"]:
            return []
        return [f"Label Studio is running at {info['url']}",
                f"log in as {info['admin']} with the password in {info['password_file']} (readable by you only)",
                "the projects above hold the simulated crowd's work; label alongside it in the browser, then "
                "`workbench pull CAMPAIGN`. `workbench server stop` stops the server."]

    # ---- people ------------------------------------------------------------------------------------
    def invite(self, email: str) -> dict[str, Any]:
        """How a person gets in: Label Studio's invitation link (or their existing account)."""
        from .accounts import invite_link

        project = self.conn.project()
        users = {u["email"].lower(): u for u in self.conn.users()}
        in_spec = any((a.email or "").lower() == email.lower() for a in self.ctx.spec.active_annotators)
        return {"email": email, "project_url": self.conn.project_url(project), "has_account": email.lower() in users,
                "invite_url": invite_link(self.conn.api), "in_spec": in_spec}
