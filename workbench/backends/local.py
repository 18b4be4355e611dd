"""The local backend: an in-process dry run with no server.

Tasks and results live in the workbench store, results in Label Studio's own result format, so
they go through the same validation as results pulled from a real Label Studio. Only simulated
annotators can work here; real people annotate through Label Studio.
"""

from __future__ import annotations

import json

from ..store import now
from . import Backend, BackendContext, PullBatch, RawAnnotation


class LocalBackend(Backend):
    name = "local"

    def __init__(self, ctx: BackendContext):
        self.ctx = ctx
        self.campaign = ctx.spec.name

    def push(self, units, prelabels):
        # the store is the queue: a unit's task id is its unit id
        return {u.id: u.id for u in units}

    def simulate(self, crowd, queues, references, seed):
        conn = self.ctx.store.conn
        schema = self.ctx.task_type.schema
        done = {
            (r[0], r[1]) for r in conn.execute(
                "SELECT unit_id, annotator_id FROM local_results WHERE campaign=?", (self.campaign,))
        }
        total = sum(len(q) for q in queues.values())
        advance = self.ctx.progress(f"{self.campaign}: simulated crowd labels", total)
        made = 0
        with self.ctx.store.transaction():
            for annotator in crowd:
                for unit in queues.get(annotator.id, []):
                    advance(1)
                    if (unit.id, annotator.id) in done:
                        continue
                    label, lead = annotator.label(unit, references.get(unit.id), schema, seed)
                    result = self.ctx.task_type.to_ls_result(label, unit)
                    stamp = now()
                    conn.execute(
                        "INSERT INTO local_results VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                        (self.campaign, unit.id, annotator.id, json.dumps(result), lead, stamp, stamp))
                    made += 1
        return made

    def pull(self, cursor):
        rows = self.ctx.store.all(
            "SELECT unit_id, annotator_id, result_json, lead_time, created_at, updated_at, was_cancelled "
            "FROM local_results WHERE campaign=? ORDER BY created_at, unit_id, annotator_id", self.campaign)
        out = [
            RawAnnotation(
                key=f"{r['unit_id']}:{r['annotator_id']}", unit_id=r["unit_id"], annotator_id=r["annotator_id"],
                result=json.loads(r["result_json"]), was_cancelled=bool(r["was_cancelled"]),
                lead_time=r["lead_time"], created_at=r["created_at"], updated_at=r["updated_at"],
            )
            for r in rows
        ]
        return PullBatch(out, complete=True)

    def describe(self):
        return {"backend": "local", "note": "in-process dry run: simulated annotators only"}
