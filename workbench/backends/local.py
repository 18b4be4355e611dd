"""The local backend: an in-process dry run with no server.

Tasks and results live in the workbench store (the backend's own ``local_results`` table), results
in Label Studio's own result format, so they go through the same validation as results pulled from
a real Label Studio. Only simulated annotators can work here; real people annotate through Label
Studio.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import overload

from ..store import backend as backend_sql
from ..store import now
from . import Backend, BackendContext, PullBatch, RawAnnotation

#: the key of the simulated reviewers' verdicts in this backend's state
REVIEWS = "review_verdicts"


class _Results(Sequence[RawAnnotation]):
    """The local results as raw annotations, each read from the store and made (its JSON decoded)
    when it is read: the pull reads each once, and a million of them held at once took gigabytes."""

    def __init__(self, store, campaign: str):
        self._store, self._campaign = store, campaign
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = backend_sql.count_local_results(self._store, self._campaign)
        return self._len

    @staticmethod
    def _raw(r) -> RawAnnotation:
        return RawAnnotation(
            key=f"{r['unit_id']}:{r['annotator_id']}", unit_id=r["unit_id"], annotator_id=r["annotator_id"],
            result=json.loads(r["result_json"]), was_cancelled=bool(r["was_cancelled"]),
            lead_time=r["lead_time"], created_at=r["created_at"], updated_at=r["updated_at"],
        )

    @overload
    def __getitem__(self, index: int) -> RawAnnotation: ...

    @overload
    def __getitem__(self, index: slice) -> list[RawAnnotation]: ...

    def __getitem__(self, index):
        rows = backend_sql.local_results(self._store, self._campaign)  # indexing is rare: read them all
        if isinstance(index, slice):
            return [self._raw(r) for r in rows[index]]
        return self._raw(rows[index])

    def __iter__(self) -> Iterator[RawAnnotation]:
        # one row at a time from the store (a million rows held at once took gigabytes)
        return (self._raw(r) for r in backend_sql.iter_local_results(self._store, self._campaign))


class LocalBackend(Backend):
    name = "local"
    in_process = True

    def __init__(self, ctx: BackendContext):
        self.ctx = ctx
        self.campaign = ctx.spec.name

    def push(self, units, prelabels, overlaps, record):
        # the store is the queue: a unit's task id is its unit id, and its queue the assignments
        return {u.id: u.id for u in units}

    def simulate(self, crowd, queues, references, seed, limits=None):
        store = self.ctx.store
        schema = self.ctx.task_type.schema
        done = backend_sql.local_done(store, self.campaign)
        limits = limits or {}

        def queue(aid: str) -> list:  # a persona's queue, up to its limit (the head of it)
            q = queues.get(aid, [])
            return q[:limits[aid]] if aid in limits else q

        total = sum(len(queue(a.id)) for a in crowd)
        advance = self.ctx.progress(f"{self.campaign}: simulated crowd labels", total)
        rows = []
        # one string per distinct result and time stamp: most results repeat (a choice task has a few),
        # and a million rows each with their own copies took a gigabyte before they were stored
        texts: dict[str, str] = {}
        for annotator in crowd:
            for unit in queue(annotator.id):
                advance(1)
                if (unit.id, annotator.id) in done:
                    continue
                label, lead = annotator.label(unit, references.get(unit.id), schema, seed)
                result = json.dumps(self.ctx.task_type.to_ls_result(label, unit))
                result, stamp = texts.setdefault(result, result), now()
                stamp = texts.setdefault(stamp, stamp)
                rows.append((unit.id, annotator.id, result, lead, stamp, stamp))
        with store.transaction():
            backend_sql.add_local_results(store, self.campaign, rows)
        return len(rows)

    def pull(self, known):
        return PullBatch(_Results(self.ctx.store, self.campaign), complete=True,
                         in_store=backend_sql.LocalResults(self.campaign))

    # ---- review: the queue is the store (the core's ``reviews`` table), verdicts in this backend's state ----
    def push_review(self, tasks):
        return {(t.unit.id, t.reviewer): f"{t.unit.id}:{t.reviewer}" for t in tasks}

    def simulate_review(self, reviewers, tasks, references, seed):
        state = self.ctx.state
        assert state is not None
        done = state.get(REVIEWS) or {}
        schema = self.ctx.task_type.schema
        by_id = {r.id: r for r in reviewers}
        made = 0
        for t in tasks:
            key = f"{t.unit.id}:{t.reviewer}"
            member = by_id.get(t.reviewer)
            if member is None or key in done:
                continue
            label, _ = member.label(t.unit, references.get(t.unit.id), schema, seed)
            done[key] = {"unit": t.unit.id, "reviewer": t.reviewer,
                         "result": self.ctx.task_type.to_ls_result(label, t.unit), "at": now()}
            made += 1
        if made:
            with self.ctx.store.transaction():
                state.put(REVIEWS, done)
        return made

    def pull_review(self):
        from ..review import RawVerdict

        state = self.ctx.state
        assert state is not None
        return [RawVerdict(v["unit"], v["reviewer"], v["result"], v["at"]) for v in (state.get(REVIEWS) or {}).values()]

    def describe(self):
        return {"backend": "local", "note": "in-process dry run: simulated annotators only"}
