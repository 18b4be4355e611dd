"""The read model: what the store holds about one campaign, as the data model's records and tables.

Steps, the status view, the data card and the report read a campaign through a
:class:`CampaignState`: units, documents, annotations, the long ``(unit, annotator, label)`` table,
the consensus, gold, the pool, assignments and rounds, and the agreement tables. Each is read once
and kept; a step that writes makes a new state for whatever runs after it.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .models import Annotation, AnnotationStatus, Document, Label, LabelSchema, PreLabel, StoredUnit, Unit, long_table
from .store import Store
from .store import campaigns as campaigns_sql
from .store import corpus as corpus_sql
from .store import evaluations as evaluations_sql
from .store import gating as gating_sql
from .store import labels as labels_sql
from .store import results as results_sql
from .store import work as work_sql


@dataclass(frozen=True, slots=True)
class Assignment:
    unit: str
    annotator: str
    position: int
    round: int
    cancelled: str | None = None  # why it is no longer planned (None: planned)

    @property
    def planned(self) -> bool:
        return self.cancelled is None


class Vote(NamedTuple):
    """A counted annotation (status ok): what aggregation, agreement and the export read of it."""

    unit_id: str
    annotator_id: str
    label: Label
    status: AnnotationStatus = AnnotationStatus.OK


@dataclass(frozen=True, slots=True)
class PoolMember:
    """An annotator as the store knows them: everyone who was ever in the campaign's pool."""

    id: str
    persona: str | None
    lean: str | None
    email: str | None
    status: str  # active or retired
    since_version: int
    retired_version: int | None = None

    @property
    def simulated(self) -> bool:
        return self.persona is not None


_CONSENSUS_KEYS = ("unit_id", "label", "confidence", "n_annotations", "agreement", "method", "tie")
_CONSENSUS_INDEX = {k: i for i, k in enumerate(_CONSENSUS_KEYS)}


class ConsensusRow(Mapping[str, Any]):
    """A stored consensus row, read like the dict it was (``row["label"]``, ``dict(row)``, ``row.items()``, the
    keys in the same order), as small as a tuple: no dict per unit (a million of them were 0.4 GB).
    Read-only."""

    __slots__ = _CONSENSUS_KEYS

    def __init__(self, unit_id: str, label: Label, confidence: float, n_annotations: int, agreement: float | None,
                 method: str, tie: bool):
        self.unit_id, self.label, self.confidence, self.n_annotations = unit_id, label, confidence, n_annotations
        self.agreement, self.method, self.tie = agreement, method, tie

    def __getitem__(self, key: str) -> Any:
        if key.__class__ is str and key in _CONSENSUS_INDEX:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_CONSENSUS_KEYS)

    def __len__(self) -> int:
        return len(_CONSENSUS_KEYS)

    def __repr__(self) -> str:
        return repr(dict(self))


class CampaignState:
    """One campaign's stored state, read lazily (each part at most once)."""

    def __init__(self, store: Store, name: str, schema: LabelSchema, task_type: str,
                 corpus_cache: dict[str, Any] | None = None, table_cache: dict[str, Any] | None = None):
        """``corpus_cache``: a dict the caller keeps across states (the engine makes a new state for
        each step): the documents, units and pre-labels, read once per plan instead of once per step
        (seconds each on a million units). It is keyed on the last plan's run, the only writer of the
        corpus, and holds only immutable records and the containers of them, never changed by readers."""
        self.store = store
        self.name = name
        self.schema = schema
        self.task_type = task_type
        self._corpus_cache = corpus_cache
        # ``table_cache``: a dict the engine keeps during a run: the vote table read from the rows,
        # kept with the annotations' revision it was read at (every change of what counts bumps it)
        # and given to the next state while that revision is the store's (the steps do not change it)
        self._table_cache = table_cache

    def _corpus(self, part: str, load):
        cache = self._corpus_cache
        if cache is None:
            return load()
        plan = self.steps.get("plan")
        key = None if plan is None else (plan["seq"], plan["finished_at"])
        if key is None or cache.get("key") != key:
            cache.clear()
            if key is None:
                return load()
            cache["key"] = key
        if part not in cache:
            cache[part] = load()
        return cache[part]

    @cached_property
    def _read_label(self):
        return _label_reader(self.schema)

    # -- corpus ---------------------------------------------------------------------------------
    @cached_property
    def documents(self) -> dict[str, Document]:
        return self._corpus("documents", self._read_documents)

    def _read_documents(self) -> dict[str, Document]:
        return {r["id"]: Document(r["id"], r["title"], r["source"], r["text"], r["sha256"],
                                  json.loads(r["metadata_json"]))
                for r in corpus_sql.documents(self.store, self.name)}

    @cached_property
    def units(self) -> list[Unit]:
        return self._corpus("units", self._read_units)

    def _read_units(self) -> list[Unit]:
        """:class:`~workbench.models.StoredUnit` objects: their text and context are cut from the documents'
        texts (:attr:`documents`, shared) when read, not kept per unit; each id one interned string (the
        vote table's and the assignments' ids are then the same strings)."""
        read, intern, task_type = self._read_label, sys.intern, sys.intern(self.task_type)
        texts = {d.id: d.text for d in self.documents.values()}
        doc_ids = {d: d for d in texts}
        make = StoredUnit._read
        return [make(intern(uid), task_type, doc_ids.get(document_id, document_id), start, end,
                     texts.get(document_id) if text is None or c1 is not None else None, text,
                     context, None if c1 is None else (c1, n1, c2, n2), bool(is_gold),
                     None if gold_json is None else read(gold_json))
                for uid, document_id, start, end, text, context, c1, n1, c2, n2, is_gold, gold_json
                in corpus_sql.stored_units(self.store, self.name)]

    @cached_property
    def units_by_id(self) -> dict[str, Unit]:
        return self._corpus("units_by_id", lambda: {u.id: u for u in self.units})

    @cached_property
    def prelabels(self) -> dict[str, PreLabel]:
        return self._corpus("prelabels", self._read_prelabels)

    def _read_prelabels(self) -> dict[str, PreLabel]:
        read, ids = self._read_label, self.units_by_id
        # each key the unit's own id string (a cursor's row is a new string per read)
        return {ids[uid].id if uid in ids else uid: PreLabel(read(j), score)
                for uid, j, score in corpus_sql.prelabels(self.store, self.name)}

    @cached_property
    def gold(self) -> dict[str, Label]:
        """Every unit's gold label, honeypot or held out."""
        return {u.id: u.gold_label for u in self.units if u.gold_label is not None}

    @cached_property
    def honeypot_gold(self) -> dict[str, Label]:
        """Gold of the honeypots: gold units mixed blind into the annotators' queues to score them
        (but those dropped from scoring as suspect: :mod:`workbench.gating`)."""
        dropped = gating_sql.dropped_units(self.store, self.name)
        return {u.id: u.gold_label for u in self.units if u.is_gold and u.gold_label is not None
                and u.id not in dropped}

    @cached_property
    def held_out_gold(self) -> dict[str, Label]:
        """Gold never shown as gold to anything: it measures the consensus."""
        return {u.id: u.gold_label for u in self.units if u.gold_label is not None and not u.is_gold}

    # -- annotations ----------------------------------------------------------------------------
    @cached_property
    def annotations(self) -> list[Annotation]:
        read, intern = self._read_label, sys.intern
        statuses = {s.value: s for s in AnnotationStatus}
        # each unit's, annotator's and backend's name one string shared by its annotations (and the units)
        return [Annotation(
            unit_id=intern(r["unit_id"]), annotator_id=intern(r["annotator_id"]),
            label=None if r["label_json"] is None else read(r["label_json"]),
            lead_time=r["lead_time"], created_at=r["created_at"], updated_at=r["updated_at"], backend=intern(r["backend"]),
            backend_ids=json.loads(r["backend_ids_json"]), status=statuses.get(r["status"]) or AnnotationStatus(r["status"]), reason=r["reason"],
            round=r["round"]) for r in labels_sql.annotations(self.store, self.name)]

    @cached_property
    def table(self) -> pd.DataFrame:
        """The long ``(unit, annotator, label)`` table of the annotations that count (status ok)."""
        if "annotations" in self.__dict__:
            return long_table(self.annotations)
        if "counted" in self.__dict__:
            return pd.DataFrame([(v.unit_id, v.annotator_id, v.label) for v in self.counted],
                                columns=["unit", "annotator", "label"])
        cache = self._table_cache
        if cache is None:
            return self._read_table()
        rev = self.annotations_rev
        if cache.get("rev") != rev:
            cache.clear()  # the old table goes before the new one is read
            cache["table"], cache["rev"] = self._read_table(), rev
        return cache["table"]

    def _read_table(self) -> pd.DataFrame:
        # straight from the rows, three columns: no Vote per row kept beside the table (a million)
        read, intern = self._read_label, sys.intern
        units, annotators, labels = [], [], []
        for u, a, j in labels_sql.iter_counted(self.store, self.name):
            units.append(intern(u))
            annotators.append(intern(a))
            labels.append(read(j))
        if not units:
            return pd.DataFrame([], columns=["unit", "annotator", "label"])
        return pd.DataFrame({"unit": units, "annotator": annotators, "label": labels})

    @cached_property
    def counted(self) -> list["Vote"]:
        """The annotations that count (status ok, with a label) as :class:`Vote` records, in the order
        of :attr:`annotations`; read in three columns when the whole annotations are not needed (no
        million Annotation objects for aggregate, agreement and export)."""
        if "annotations" in self.__dict__:
            return [Vote(a.unit_id, a.annotator_id, a.label) for a in self.annotations
                    if a.status is AnnotationStatus.OK and a.label is not None]
        read = self._read_label
        # a row at a time, each unit's and annotator's id one string shared by its votes: the rows
        # held at once, and a string per vote, were most of the memory of a million votes
        intern = sys.intern
        return [Vote(intern(u), intern(a), read(j)) for u, a, j in labels_sql.iter_counted(self.store, self.name)]

    # -- results --------------------------------------------------------------------------------
    @cached_property
    def aggregates(self) -> list[dict[str, Any]]:
        """The stored consensus rows: unit_id, label (normalized), confidence, n_annotations, agreement,
        method, posteriors, tie."""
        read = self._read_label
        return [{"unit_id": r["unit_id"], "label": read(r["label_json"]), "confidence": r["confidence"],
                 "n_annotations": r["n_annotations"], "agreement": r["agreement"], "method": r["method"],
                 "posteriors": json.loads(r["posteriors_json"]) if r["posteriors_json"] else None,
                 "tie": bool(r["tie"])} for r in results_sql.aggregates(self.store, self.name)]

    @cached_property
    def consensus_rows(self) -> list[Mapping[str, Any]]:
        """:attr:`aggregates` without the posteriors (the export and agreement do not read them: a
        decoded dict per unit was most of the rows' memory)."""
        if "aggregates" in self.__dict__:
            return [{k: v for k, v in r.items() if k != "posteriors"} for r in self.aggregates]
        read, intern = self._read_label, sys.intern
        methods: dict[Any, Any] = {}  # one string per method
        return [ConsensusRow(intern(u), read(j), confidence, n, agreement, methods.setdefault(method, method),
                             bool(tie))
                for u, j, confidence, n, agreement, method, tie in results_sql.iter_consensus_rows(self.store, self.name)]

    @cached_property
    def consensus(self) -> dict[str, Label]:
        """The aggregated label of each unit (empty before ``aggregate``)."""
        if "aggregates" in self.__dict__:
            return {r["unit_id"]: r["label"] for r in self.aggregates}
        if "consensus_rows" in self.__dict__:
            return {r["unit_id"]: r["label"] for r in self.consensus_rows}
        # two columns a block at a time: no consensus row per unit made to be dropped
        read, intern = self._read_label, sys.intern
        out: dict[str, Label] = {}
        decoded: dict[str, Label] = {}
        first, second = itemgetter(0), itemgetter(1)
        for block in results_sql.consensus_blocks(self.store, self.name):
            texts = list(map(second, block))
            for text in set(texts).difference(decoded):
                decoded[text] = read(text)
            out.update(zip(map(intern, map(first, block)), map(decoded.__getitem__, texts)))
        return out

    @cached_property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """The agreement step's metrics: ``{metric: {value, interval, note, detail}}`` (``interval``:
        the bootstrap 95% interval ``[low, high]``, or None)."""
        return {r["metric"]: {"value": r["value"], "note": r["note"],
                              "detail": json.loads(r["detail_json"]) if r["detail_json"] else None,
                              "interval": _pair(r["ci_low"], r["ci_high"])}
                for r in results_sql.metrics(self.store, self.name)}

    @cached_property
    def quality(self) -> list[dict[str, Any]]:
        """The agreement step's per-annotator quality rows (see :mod:`workbench.agreement.quality`)."""
        return [{"annotator": r["annotator"], "n_annotations": r["n_annotations"], "gold_n": r["gold_n"],
                 "gold_accuracy": r["gold_accuracy"], "consensus_agreement": r["consensus_agreement"],
                 "ds_accuracy": r["ds_accuracy"], "spammer_score": r["spammer_score"],
                 "flags": json.loads(r["flags_json"]),
                 "confusion": json.loads(r["confusion_json"]) if r["confusion_json"] else None,
                 "gold_accuracy_ci": _pair(r["gold_accuracy_low"], r["gold_accuracy_high"])}
                for r in results_sql.quality(self.store, self.name)]

    @cached_property
    def evaluations(self) -> list[dict[str, Any]]:
        """The last evaluation of each model (``workbench evaluate``), by model name; ``stale`` when
        the consensus was aggregated again since."""
        agg = self.steps.get("aggregate")
        return [{"model": r["model"], "source": r["source"], "evaluated_at": r["evaluated_at"],
                 "stale": agg is not None and r["aggregate_seq"] is not None and r["aggregate_seq"] != agg["seq"],
                 **json.loads(r["result_json"])} for r in evaluations_sql.all_for(self.store, self.name)]

    @cached_property
    def unit_agreement(self) -> pd.DataFrame:
        rows = results_sql.unit_agreement(self.store, self.name)
        return pd.DataFrame([{"unit": r["unit_id"], "n_annotations": r["n_annotations"], "agreement": r["agreement"],
                              "consensus_share": r["consensus_share"], "disputed": bool(r["disputed"])} for r in rows],
                            columns=["unit", "n_annotations", "agreement", "consensus_share", "disputed"])

    # -- the pool and its work -------------------------------------------------------------------
    @cached_property
    def pool(self) -> list[PoolMember]:
        return [PoolMember(r["id"], r["persona"], r["lean"], r["email"], r["status"], r["since_version"],
                           r["retired_version"]) for r in work_sql.annotators(self.store, self.name)]

    @cached_property
    def assignments(self) -> list[Assignment]:
        intern = sys.intern
        return [Assignment(intern(u), intern(a), position, rnd, cancelled)
                for u, a, position, rnd, cancelled in work_sql.iter_assignments(self.store, self.name)]

    @cached_property
    def queues(self) -> dict[str, list[Unit]]:
        """Each annotator's planned units, in queue order (from the assignments' rows one at a time when
        :attr:`assignments` was not read: no object per assignment)."""
        by_id = self.units_by_id
        out: dict[str, list[Unit]] = {}
        if "assignments" in self.__dict__:
            for a in self.assignments:
                if a.planned:
                    out.setdefault(a.annotator, []).append(by_id[a.unit])
            return out
        # the planned rows as stored (no Assignment per row, a million, and no sort in SQL), each
        # annotator's put in queue order here: by position, unique per annotator (else SQL's order)
        per: dict[str, tuple[list[Unit], array]] = {}
        for annotator, unit, position in work_sql.iter_planned_places(self.store, self.name):
            got = per.get(annotator)
            if got is None:
                got = per[annotator] = ([], array("q"))
            got[0].append(by_id[unit])
            got[1].append(position)
        for annotator in sorted(per):  # the annotators in SQL's order (BINARY: code points)
            units, positions = per.pop(annotator)
            at = np.frombuffer(positions, np.int64)
            order = np.argsort(at, kind="stable")
            if len(at) > 1 and not (np.diff(at[order]) > 0).all():
                return self._queues_sorted_in_sql()
            out[sys.intern(annotator)] = list(map(units.__getitem__, order.tolist()))
        return out

    def _queues_sorted_in_sql(self) -> dict[str, list[Unit]]:
        by_id = self.units_by_id
        out: dict[str, list[Unit]] = {}
        queue: list[Unit] = []
        last = None
        for annotator, unit in work_sql.iter_planned_queues(self.store, self.name):
            if annotator != last:
                queue, last = out.setdefault(sys.intern(annotator), []), annotator
            queue.append(by_id[unit])
        return out

    @cached_property
    def rounds(self) -> list[dict[str, Any]]:
        return [dict(r) for r in work_sql.rounds(self.store, self.name)]

    @cached_property
    def round_count(self) -> int:
        """How many rounds of work the campaign has had, counted in SQL (not from their assignments)."""
        return work_sql.count_rounds(self.store, self.name)

    @cached_property
    def planned_per_annotator(self) -> dict[str, int]:
        """``{annotator: planned assignments}``, counted in SQL (not from a million assignments)."""
        return work_sql.planned_per_annotator(self.store, self.name)

    # -- bookkeeping ----------------------------------------------------------------------------
    @cached_property
    def steps(self) -> dict[str, dict[str, Any]]:
        return campaigns_sql.steps(self.store, self.name)

    def step(self, name: str) -> dict[str, Any] | None:
        """The summary ``name`` last recorded, or None."""
        row = self.steps.get(name)
        return None if row is None else row["summary"]

    @cached_property
    def versions(self) -> list[dict[str, Any]]:
        return campaigns_sql.versions(self.store, self.name)

    @cached_property
    def annotations_rev(self) -> int:
        return campaigns_sql.annotations_rev(self.store, self.name)

    def newest_counted(self) -> str | None:
        """When the counted state was made: its newest annotation (created or edited)."""
        return labels_sql.newest_counted(self.store, self.name)

    def forget(self, *parts: str) -> None:
        """Let go of parts read so far (``"table"``, ``"consensus_rows"``, ...; read again if asked for):
        a step done with them frees their memory for what it does next. The vote table goes from the
        run's shared cache too (else the run would keep it)."""
        for part in parts:
            self.__dict__.pop(part, None)
        if "table" in parts and self._table_cache is not None:
            self._table_cache.clear()


def _label_reader(schema: LabelSchema):
    """``read(label_json)``: the normalized label a stored JSON text holds. Labels are immutable
    (str, tuples, frozen spans) and few distinct texts recur over many rows (three classes over a
    million annotations), so each text is decoded and normalized once."""
    norm = schema.normalize
    seen: dict[str, Label] = {}

    def read(text: str) -> Label:
        label = seen.get(text)
        if label is None:
            label = seen[text] = norm(json.loads(text))
        return label

    return read


def _pair(low: float | None, high: float | None) -> list[float] | None:
    return None if low is None or high is None else [low, high]
