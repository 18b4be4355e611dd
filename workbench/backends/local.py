"""The local backend: an in-process dry run with no server.

Tasks and results live in the workbench store (the backend's own ``local_results`` table), results
in Label Studio's own result format, so they go through the same validation as results pulled from
a real Label Studio. Only simulated annotators can work here; real people annotate through Label
Studio.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Sequence
from time import time
from typing import overload

from ..models import LabelKind
from ..store import backend as backend_sql
from ..store import now
from ..tasktype import TaskType
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


class _Answers:
    """The crowd's answers as they are made, kept small (a million of them as rows took a gigabyte):
    per answer its key's place in ``(unit, annotator)`` order, the number of its result (each distinct
    result JSON once) and of its time stamp (each second once), and its lead time; given back as the
    store's rows in key order, a block at a time."""

    BLOCK = 50_000

    def __init__(self, task_type, crowd):
        self.task_type = task_type
        # the base class's result of a choice depends on the label alone: made once per label
        self.by_label = (type(task_type).to_ls_result is TaskType.to_ls_result
                         and task_type.schema.kind is not LabelKind.SPANS)
        self.annotators = sorted({a.id for a in crowd})
        self.rank = {a: i for i, a in enumerate(self.annotators)}
        self.units: dict[str, int] = {}  # unit id -> its number (made in turn; ranked in key order at the end)
        self.unit_ids: list[str] = []
        self.results: dict[str, int] = {}  # result JSON -> its number
        self.labels: dict = {}  # label -> its result's number (by_label)
        self.odd: dict[int, object] = {}  # an answer's lead time that is not a float (a plugin's persona)
        self._order = None
        self.texts: list[str] = []
        self.stamps: list[str] = []
        self.unit_of, self.annotator_of = array("q"), array("q")
        self.result_of, self.stamp_of, self.lead = array("q"), array("q"), array("d")

    def __len__(self) -> int:
        return len(self.lead)

    def add(self, annotator, units: list, answers, advance) -> None:
        to_ls, dumps = self.task_type.to_ls_result, json.dumps
        numbers, ids, results, texts, stamps = self.units, self.unit_ids, self.results, self.texts, self.stamps
        labels = self.labels
        unit_of, result_of, stamp_of, lead_of = (self.unit_of.append, self.result_of.append, self.stamp_of.append,
                                                 self.lead.append)
        by_label, second = self.by_label, -1
        for i, (unit, (label, lead)) in enumerate(zip(units, answers), 1):
            n = numbers.get(unit.id)
            if n is None:
                n = numbers[unit.id] = len(ids)
                ids.append(unit.id)
            unit_of(n)
            r = labels.get(label) if by_label else None
            if r is None:
                text = dumps(to_ls(label, unit))
                r = results.get(text)
                if r is None:
                    r = results[text] = len(texts)
                    texts.append(text)
                if by_label:
                    labels[label] = r
            result_of(r)
            if type(lead) is not float:
                self.odd[len(self.lead)] = lead
                lead = 0.0
            lead_of(lead)
            if int(time()) != second:  # the stamp of the second the answer was made (:func:`now`)
                second = int(time())
                stamp = now()
                if not stamps or stamps[-1] != stamp:
                    stamps.append(stamp)
            stamp_of(len(stamps) - 1)
            if i % 4096 == 0:
                advance(4096)
        self.annotator_of.extend([self.rank[annotator.id]] * (len(self.lead) - len(self.annotator_of)))
        advance(len(units) % 4096)

    def order(self):
        """The answers' places in key order (worked out once)."""
        import numpy as np

        if self._order is not None:
            return self._order
        ids = self.unit_ids  # distinct: Python's sort of their indices by id ranks them as numpy's of the ids did, faster
        ranked = np.array(sorted(range(len(ids)), key=ids.__getitem__), np.int64)
        place = np.empty(len(ranked), np.int64)
        place[ranked] = np.arange(len(ranked))
        keys = place[np.frombuffer(self.unit_of, np.int64)] * max(len(self.annotators), 1) \
            + np.frombuffer(self.annotator_of, np.int64)
        self._order = np.argsort(keys, kind="stable")
        return self._order

    def repeated(self) -> list[str]:
        """The results given more than once, in the order they first come in key order."""
        import numpy as np

        if not len(self):
            return []
        results = np.frombuffer(self.result_of, np.int64)[self.order()]
        counts = np.bincount(results, minlength=len(self.texts))
        found, first = np.unique(results, return_index=True)
        return [self.texts[r] for r in found[np.argsort(first, kind="stable")].tolist() if counts[r] > 1]

    def blocks(self):
        import numpy as np

        if not len(self):
            return
        ids, annotators, texts, stamps, odd = self.unit_ids, self.annotators, self.texts, self.stamps, self.odd
        order = self.order()
        units, who = np.frombuffer(self.unit_of, np.int64), np.frombuffer(self.annotator_of, np.int64)
        results, when, leads = (np.frombuffer(self.result_of, np.int64), np.frombuffer(self.stamp_of, np.int64),
                                np.frombuffer(self.lead, np.float64))
        for start in range(0, len(order), self.BLOCK):
            at = order[start:start + self.BLOCK]
            rows = []
            for u, a, r, lead, s in zip(units[at].tolist(), who[at].tolist(), results[at].tolist(),
                                        leads[at].tolist(), when[at].tolist()):
                stamp = stamps[s]
                rows.append((ids[u], annotators[a], texts[r], lead, stamp, stamp))
            if odd:
                for i, k in enumerate(at.tolist()):
                    if k in odd:
                        rows[i] = (*rows[i][:3], odd[k], *rows[i][4:])
            yield rows


class LocalBackend(Backend):
    name = "local"
    in_process = True

    def __init__(self, ctx: BackendContext):
        self.ctx = ctx
        self.campaign = ctx.spec.name

    def push(self, units, prelabels, overlaps, record):
        # the store is the queue: a unit's task id is its unit id, and its queue the assignments (given
        # in id order, the order the store sorts them in: its sort then finds them sorted)
        return {i: i for i in sorted([u.id for u in units])}

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
        answers = _Answers(self.ctx.task_type, crowd)
        for annotator in crowd:
            q = queue(annotator.id)
            todo = [u for u in q if (u.id, annotator.id) not in done] if done else q
            answers.add(annotator, todo, annotator.label_all(todo, references, schema, seed), advance)
            advance(len(q) - len(todo))
        with store.transaction():
            backend_sql.write_local_results_sorted(store, self.campaign, answers.repeated(), answers.blocks())
        return len(answers)

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
