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
        """``{task id: n}`` from push (a new round, a cancellation). A task's overlap is what Label
        Studio's stream goes by, and only people use the stream (personas save on their own planned
        tasks): so a raise is sent for tasks with a person's place, and every lowering; a task only the
        crowd works keeps the overlap it has (each change is a PATCH of about 0.3 s; the sample
        campaigns' adaptive rounds raise 400-500 tasks each)."""
        from ...store import work as work_sql
        from .push import set_overlaps

        store, name = self.ctx.store, self.conn.campaign
        tasks = work_sql.backend_tasks(store, name)  # what the server was told so far
        told = {str(t): n for t, n in tasks.values()}
        people = {a.id for a in self.ctx.spec.annotators if not a.simulated}
        theirs = {str(tasks[u][0]) for u in work_sql.units_planned_for(store, name, people) if u in tasks}
        set_overlaps(self.conn, {t: n for t, n in overlaps.items()
                                 if str(t) in theirs or told.get(str(t)) is None or n < (told[str(t)] or 0)})

    def simulate(self, crowd, queues, references, seed, limits=None):
        from .crowd import run_crowd

        return run_crowd(self.conn, crowd, queues, references, seed, limits)

    def pull(self, known):
        from .pull import pull_annotations

        return pull_annotations(self.conn, self.ctx.state.get(PULL_CURSOR), known)

    def simulated(self):
        """The annotations the last crowd run saved, as the server answered each save (its id, times,
        author): checked and converted exactly as a pull converts them."""
        from .. import PullBatch
        from .pull import annotator_ids, convert, validator

        saved, self.conn.saved = self.conn.saved, []
        if not saved:
            return PullBatch([])
        project = saved[0][0]
        tasks = [{"id": task, "data": {"unit_id": unit}, "annotations": [answer]} for _, task, unit, answer in saved]
        return PullBatch(convert(project, tasks, annotator_ids(self.conn), validator(self.conn)))

    # ---- review: a review project per campaign (review.py) -------------------------------------------
    def push_review(self, tasks):
        from .review import push_review

        return push_review(self.conn, tasks)

    def simulate_review(self, reviewers, tasks, references, seed):
        from .review import simulate_review

        return simulate_review(self.conn, reviewers, tasks, references, seed)

    def pull_review(self):
        from .review import pull_review

        return pull_review(self.conn)

    def review_notes(self, people):
        from .review import review_notes

        return review_notes(self.conn, people)

    def describe(self) -> dict[str, Any]:
        return self.conn.describe()

    def forget(self) -> None:
        from .connection import PROJECT

        self.ctx.state.delete(PROJECT)

    def prepare(self, server_workers: int | None = None) -> None:
        """Start the managed server when it is not running; ``server_workers``: 0 for Label Studio's
        development server, N for gunicorn with N worker processes (None: the last choice)."""
        if self.conn.managed:
            server = self.conn.server
            if not server.status()["running"]:
                print("starting the managed Label Studio (the first start on this machine migrates its "
                      "database: about a minute)...", file=sys.stderr)
                server.start(workers=server_workers)

    def closing_notes(self) -> list[str]:
        """Where the server is, how to log in, and, for a campaign with a person in its pool, the
        command that gets them in and how many tasks wait for them (lines shared by every campaign
        of the server come first, so a demo prints them once)."""
        if not self.conn.managed:
            return []
        info = self.conn.server.status()
        if not info["running"]:
            return []
        lines = [f"Label Studio is running at {info['url']} (`workbench server stop` stops it)",
                 f"log in as {info['admin']} with the password in {info['password_file']} (readable by you only)"]
        people = [a for a in self.ctx.spec.active_annotators if not a.simulated and a.email]
        if not people:
            return lines
        lines += ["to label as a person: run the `invite` line below, open the sign-up link it prints, sign up "
                  "as the email it names (any password of your own), and label in the stream it opens (Submit, "
                  "or Skip); then `workbench pull CAMPAIGN` and `workbench status CAMPAIGN` count your labels "
                  "with the crowd's. Anyone else: `workbench annotators add CAMPAIGN EMAIL` first.",
                  "the people in the pool, and the tasks waiting for them:"]
        project = self.conn.project()
        users = {u["email"].lower(): u for u in self.conn.users()}
        for a in people:
            assert a.email is not None
            open_ = self.waiting(project, users.get(a.email.lower()))
            lines.append(f"  workbench invite {self.conn.campaign} {a.email}    # "
                         + waiting_words(open_, self.share(a.id), a.id))
        return lines

    def share(self, annotator: str) -> int:
        """What the plan still has for ``annotator``: planned places minus the answers pulled so far."""
        from ...store import labels as labels_sql
        from ...store import work as work_sql

        db, name = self.ctx.store, self.conn.campaign
        planned = work_sql.planned_per_annotator(db, name).get(annotator, 0)
        done = sum(r[2] for r in labels_sql.per_annotator(db, name) if r[0] == annotator and r[1] in ("ok", "skipped"))
        return max(0, planned - done)

    # ---- people ------------------------------------------------------------------------------------
    def invite(self, email: str, new_link: bool = False) -> dict[str, Any]:
        """How a person gets in: Label Studio's invitation link (or their existing account), each
        landing on the project's labeling stream, and how many tasks wait for them there."""
        from urllib.parse import quote

        from .accounts import invite_link
        from .server import is_loopback

        project = self.conn.project()
        users = {u["email"].lower(): u for u in self.conn.users()}
        user = users.get(email.lower())
        if new_link:  # the organization has one invitation token: a new one makes older links useless
            self.conn.api.post("/api/invite/reset-token", {}, what="making a new invitation link")
        public = self.conn.public_url
        link = invite_link(self.conn.api)
        if public != self.conn.api.url:
            link = public + link[len(self.conn.api.url):]
        stream = self.conn.stream_url(project)
        landing = quote(stream[len(public):], safe="/")  # after sign-up or log-in: the stream
        host = httpx.URL(public).host
        member = next((a for a in self.ctx.spec.active_annotators if (a.email or "").lower() == email.lower()), None)
        return {"email": email, "project_url": stream, "annotator": member.id if member else None,
                "planned": self.share(member.id) if member else 0,
                "data_manager_url": self.conn.project_url(project), "has_account": user is not None,
                "invite_url": f"{link}&next={landing}", "login_url": f"{public}/user/login/?next={landing}",
                "in_pool": member is not None, "waiting": self.waiting(project, user), "loopback": is_loopback(host)}

    def waiting(self, project, user: dict | None) -> int:
        """Tasks with room for one more annotator that ``user`` has not done: what the stream gives them."""
        from .pull import user_id

        n = 0
        for task in self.conn.api.tasks(project.id, include="id,overlap,total_annotations,annotators",
                                        fields="all"):
            done = {user_id(u) for u in task.get("annotators") or []}
            if int(task.get("total_annotations") or 0) < int(task.get("overlap") or 1) and \
                    (user is None or user["id"] not in done):
                n += 1
        return n


def waiting_words(open_: int, planned: int, who: str) -> str:
    """``127 task(s) wait for you``; when the stream has more room than the plan has for them (other
    people's places: Label Studio gives them to whoever comes first), both numbers."""
    if planned >= open_:
        return f"{open_} task(s) wait for {who}"
    return (f"{planned} task(s) planned for {who}; the stream has {open_} open, other people's places among them "
            "(Label Studio gives those to whoever comes first)")
