"""The campaign engine: the steps from a spec to a curated dataset.

plan -> assign -> push -> simulate -> pull -> aggregate -> agreement -> export

Each step reads the store, does its work and writes its results in one transaction, so a step
that fails changes nothing, and running a step again gives the same state (idempotent).
"""

from __future__ import annotations

import contextlib
import json
from functools import cached_property
from typing import Any, Callable, Iterable

import pandas as pd

from . import plan as planning
from .assign import assign as assign_units
from .backends import Backend, BackendContext, PullBatch
from .collect import apply_pull
from .documents import load_documents
from .errors import WorkbenchError
from .models import Annotation, AnnotationStatus, Document, Label, PreLabel, Unit, label_key, long_table
from .registry import Registry, get_registry, plugin_version
from .simulate import SimulatedAnnotator
from .spec import CampaignSpec, check_against_registry, parse_spec
from .store import Store, now
from .tasktype import TaskType

STEPS = ("plan", "assign", "push", "simulate", "pull", "aggregate", "agreement", "export")

Progress = Callable[[str, int], Callable[[int], None]]


def _quiet(desc: str, total: int) -> Callable[[int], None]:
    return lambda n=1: None


def _dump(label: Label | None) -> str | None:
    return None if label is None else label_key(label)


class Campaign:
    def __init__(self, spec: CampaignSpec, store: Store, registry: Registry | None = None,
                 progress: Progress = _quiet):
        self.spec = spec
        self.store = store
        self.registry = registry or get_registry()
        self.progress = progress
        check_against_registry(spec, self.registry)

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def task_type(self) -> TaskType:
        return self.registry.get("task_types", self.spec.task_type)

    @cached_property
    def backend(self) -> Backend:
        factory = self.registry.get("backends", self.spec.backend).factory
        return factory(BackendContext(self.spec, self.store, self.task_type, self.registry, self.progress))

    @classmethod
    def open(cls, name: str, store: Store, registry: Registry | None = None, progress: Progress = _quiet):
        """A campaign already in the store, by name."""
        row = store.one("SELECT spec_json, spec_path FROM campaigns WHERE name=?", name)
        if row is None:
            known = [r[0] for r in store.all("SELECT name FROM campaigns ORDER BY name")]
            raise WorkbenchError(
                f"no campaign {name!r} in {store.path} (known: {', '.join(known) or 'none'}); "
                "pass the campaign's .toml file instead")
        from pathlib import Path

        spec = parse_spec(json.loads(row[0]), Path(row[1]))
        return cls(spec, store, registry, progress)

    # ------------------------------------------------------------------------------------------
    # reading state
    def units(self) -> list[Unit]:
        rows = self.store.all("SELECT * FROM units WHERE campaign=? ORDER BY position", self.name)
        schema = self.task_type.schema
        return [
            Unit(
                id=r["id"], task_type=self.spec.task_type, document_id=r["document_id"], start=r["start"],
                end=r["end"], text=r["text"], context=r["context"], is_gold=bool(r["is_gold"]),
                gold_label=None if r["gold_json"] is None else schema.normalize(json.loads(r["gold_json"])),
            )
            for r in rows
        ]

    def documents(self) -> dict[str, Document]:
        rows = self.store.all("SELECT * FROM documents WHERE campaign=?", self.name)
        return {
            r["id"]: Document(r["id"], r["title"], r["source"], r["text"], r["sha256"], json.loads(r["metadata_json"]))
            for r in rows
        }

    def prelabels(self) -> dict[str, PreLabel]:
        schema = self.task_type.schema
        rows = self.store.all(
            "SELECT id, prelabel_json, prelabel_score FROM units WHERE campaign=? AND prelabel_json IS NOT NULL",
            self.name)
        return {r[0]: PreLabel(schema.normalize(json.loads(r[1])), r[2]) for r in rows}

    def annotations(self, statuses: tuple[AnnotationStatus, ...] | None = None) -> list[Annotation]:
        schema = self.task_type.schema
        rows = self.store.all("SELECT * FROM annotations WHERE campaign=? ORDER BY unit_id, annotator_id, key",
                              self.name)
        out = []
        for r in rows:
            status = AnnotationStatus(r["status"])
            if statuses is not None and status not in statuses:
                continue
            out.append(Annotation(
                unit_id=r["unit_id"], annotator_id=r["annotator_id"],
                label=None if r["label_json"] is None else schema.normalize(json.loads(r["label_json"])),
                lead_time=r["lead_time"], created_at=r["created_at"], updated_at=r["updated_at"],
                backend=r["backend"], backend_ids=json.loads(r["backend_ids_json"]), status=status,
                reason=r["reason"],
            ))
        return out

    def table(self) -> pd.DataFrame:
        """The long ``(unit, annotator, label)`` table of the annotations that count."""
        return long_table(self.annotations((AnnotationStatus.OK,)))

    def honeypot_gold(self, units: Iterable[Unit] | None = None) -> dict[str, Label]:
        """Gold labels of the honeypot units (of ``units`` when the caller has them loaded already)."""
        return {u.id: u.gold_label for u in (self.units() if units is None else units)
                if u.is_gold and u.gold_label is not None}

    def consensus(self) -> dict[str, Label]:
        """The stored aggregated label of each unit (empty before `aggregate`)."""
        schema = self.task_type.schema
        return {r[0]: schema.normalize(json.loads(r[1])) for r in self.store.all(
            "SELECT unit_id, label_json FROM aggregates WHERE campaign=?", self.name)}

    def _require(self, step: str, before: str) -> None:
        if self.store.step_summary(self.name, before) is None:
            raise WorkbenchError(f"campaign {self.name!r}: run `{before}` before `{step}`")

    # ------------------------------------------------------------------------------------------
    # steps
    def plan(self) -> dict[str, Any]:
        """Register the campaign, cut documents into units, attach gold and pre-labels."""
        store, spec = self.store, self.spec
        existing = store.one("SELECT fingerprint FROM campaigns WHERE name=?", self.name)
        if existing and existing[0] != spec.fingerprint:
            raise WorkbenchError(
                f"{spec.path}: a campaign named {self.name!r} already exists in {store.path} with a different "
                "spec; give this one another name, or use another --home")
        docs = load_documents(spec.documents, spec.base)
        units = planning.cut_units(self.task_type, docs)
        gold = planning.load_gold(spec.resolve(spec.gold_file), self.task_type, units) if spec.gold_file else {}
        units = planning.mark_gold(units, gold, spec.gold_rate, spec.overlap, len(spec.annotators), spec.seed)
        advance = self.progress(f"{self.name}: pre-labeling", len(units))
        pre: dict[str, PreLabel | None] = {}
        for u in units:
            pre[u.id] = self.task_type.prelabel(u)
            advance(1)
        if existing:
            old = {r[0] for r in store.all("SELECT id FROM units WHERE campaign=?", self.name)}
            if old != {u.id for u in units} and store.step_summary(self.name, "push"):
                raise WorkbenchError(
                    f"{spec.path}: the documents changed after campaign {self.name!r} was pushed; "
                    "start a new campaign (another name) for the new documents")
            old_pots = {r[0] for r in store.all("SELECT id FROM units WHERE campaign=? AND is_gold=1", self.name)}
            if old_pots != {u.id for u in units if u.is_gold} and store.step_summary(self.name, "assign"):
                raise WorkbenchError(
                    f"{spec.resolve(spec.gold_file) if spec.gold_file else spec.path}: the gold labels changed "
                    f"which units are honeypots after campaign {self.name!r} was assigned; "
                    "start a new campaign (another name) to use the new gold")
        with store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO campaigns VALUES (?, ?, ?, ?, ?, ?, COALESCE("
                "(SELECT created_at FROM campaigns WHERE name=?), ?))",
                (self.name, spec.fingerprint, str(spec.path), json.dumps(spec.raw), spec.task_type, spec.backend,
                 self.name, now()))
            db.execute("DELETE FROM documents WHERE campaign=?", (self.name,))
            db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (self.name, d.id, d.title, d.source, d.sha256, d.text, json.dumps(dict(d.metadata))) for d in docs])
            db.execute("DELETE FROM units WHERE campaign=?", (self.name,))
            db.executemany("INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                (self.name, u.id, i, u.document_id, u.start, u.end, u.text, u.context, int(u.is_gold),
                 _dump(u.gold_label),
                 _dump(pre[u.id].label) if pre[u.id] else None, pre[u.id].score if pre[u.id] else None)
                for i, u in enumerate(units)])
            db.execute("DELETE FROM annotators WHERE campaign=?", (self.name,))
            db.executemany("INSERT INTO annotators VALUES (?, ?, ?, ?, ?)", [
                (self.name, a.id, a.persona, a.lean, a.email) for a in spec.annotators])
            summary = {
                "documents": len(docs), "units": len(units), "gold_units": len(gold),
                "honeypots": sum(u.is_gold for u in units),
                "prelabeled": sum(p is not None for p in pre.values()),
            }
            store.record_step(self.name, "plan", summary)
        return summary

    def assign(self) -> dict[str, Any]:
        """Give each unit to ``overlap`` annotators (honeypots to all); kept once made."""
        self._require("assign", "plan")
        existing = self.store.one("SELECT COUNT(*) FROM assignments WHERE campaign=?", self.name)[0]
        units = self.units()
        if not existing:
            rows = assign_units(
                [u.id for u in units if not u.is_gold], [u.id for u in units if u.is_gold],
                [a.id for a in self.spec.annotators], self.spec.overlap, self.spec.seed)
            with self.store.transaction() as db:
                db.executemany("INSERT INTO assignments VALUES (?, ?, ?, ?)",
                               [(self.name, u, a, p) for u, a, p in rows])
        with self.store.transaction():
            loads = {r[0]: r[1] for r in self.store.all(
                "SELECT annotator_id, COUNT(*) FROM assignments WHERE campaign=? GROUP BY annotator_id", self.name)}
            gold_share = {r[0]: r[1] for r in self.store.all(
                "SELECT a.annotator_id, AVG(u.is_gold) FROM assignments a JOIN units u "
                "ON u.campaign=a.campaign AND u.id=a.unit_id WHERE a.campaign=? GROUP BY a.annotator_id", self.name)}
            summary = {"assignments": sum(loads.values()), "per_annotator": loads,
                       "gold_share": {a: round(v, 3) for a, v in gold_share.items()}}
            self.store.record_step(self.name, "assign", summary)
        return summary

    def push(self) -> dict[str, Any]:
        """Send the units not yet in the backend."""
        self._require("push", "assign")
        sent = {r[0] for r in self.store.all("SELECT unit_id FROM backend_tasks WHERE campaign=?", self.name)}
        todo = [u for u in self.units() if u.id not in sent]
        pre = self.prelabels()
        new = self.backend.push(todo, {u.id: pre[u.id] for u in todo if u.id in pre}) if todo else {}
        with self.store.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO backend_tasks VALUES (?, ?, ?, ?, ?)",
                           [(self.name, u, self.spec.backend, str(t), now()) for u, t in new.items()])
            summary = {"pushed": len(new), "already_there": len(sent), **self.backend.describe()}
            self.store.record_step(self.name, "push", summary)
        return summary

    def crowd(self) -> list[SimulatedAnnotator]:
        return [
            SimulatedAnnotator(a.id, self.registry.get("annotators", a.persona), a.lean)
            for a in self.spec.annotators if a.simulated
        ]

    def queues(self) -> dict[str, list[Unit]]:
        by_id = {u.id: u for u in self.units()}
        queues: dict[str, list[Unit]] = {}
        for r in self.store.all("SELECT annotator_id, unit_id FROM assignments WHERE campaign=? "
                                "ORDER BY annotator_id, position", self.name):
            queues.setdefault(r[0], []).append(by_id[r[1]])
        return queues

    def simulate(self) -> dict[str, Any]:
        """The simulated annotators label their queues (a documented simulation, not people)."""
        self._require("simulate", "push")
        crowd = self.crowd()
        units = self.units()
        pre = self.prelabels()
        references = {u.id: u.gold_label if u.gold_label is not None else (pre[u.id].label if u.id in pre else None)
                      for u in units}
        made = self.backend.simulate(crowd, self.queues(), references, self.spec.seed) if crowd else 0
        with self.store.transaction():
            summary = {"simulated_annotators": len(crowd), "labels_made": made}
            self.store.record_step(self.name, "simulate", summary)
        return summary

    def pull(self) -> dict[str, Any]:
        """Collect annotations: validate each, replace edits, drop deletions, flag extras."""
        self._require("pull", "push")
        cursor = self.store.get_cursor(self.name, "pull")
        batch: PullBatch = self.backend.pull(cursor)
        with self.store.transaction():
            summary = apply_pull(self, batch)
            if batch.cursor is not None:
                self.store.set_cursor(self.name, "pull", batch.cursor)
            self.store.record_step(self.name, "pull", summary)
        return summary

    def aggregate(self, method: str | None = None, **options) -> dict[str, Any]:
        from .aggregate.run import run_aggregation

        self._require("aggregate", "pull")
        return run_aggregation(self, method or self.spec.aggregate_method,
                               {**self.spec.aggregate_options, **options})

    def agreement(self) -> dict[str, Any]:
        from .agreement.run import run_agreement

        self._require("agreement", "aggregate")
        return run_agreement(self)

    def export(self, formats: tuple[str, ...] | None = None, out_dir: str | None = None, **filters) -> dict[str, Any]:
        from .export import run_export

        self._require("export", "aggregate")
        return run_export(self, formats or self.spec.export_formats, out_dir, filters)

    def run(self, until: str = "export", around: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """Every step up to ``until``; ``around(description)``, if given, is a context manager each step
        runs inside (the CLI's spinner)."""
        results = {}
        for step in STEPS:
            with around(f"{self.name}: {step}") if around else contextlib.nullcontext():
                results[step] = getattr(self, step)()
            if step == until:
                break
        return results

    # ------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        steps = {}
        for step in STEPS:
            row = self.store.one("SELECT finished_at, summary_json FROM steps WHERE campaign=? AND step=?",
                                 self.name, step)
            steps[step] = {"done": row is not None, "finished_at": row[0] if row else None,
                           "summary": json.loads(row[1]) if row else None}
        per = {a.id: {"kind": "simulated" if a.simulated else "person", "persona": a.persona,
                      "assigned": 0, "ok": 0, "skipped": 0, "invalid": 0, "extra": 0}
               for a in self.spec.annotators}
        for r in self.store.all("SELECT annotator_id, COUNT(*) FROM assignments WHERE campaign=? "
                                "GROUP BY annotator_id", self.name):
            per.setdefault(r[0], {"kind": "unknown", "persona": None, "assigned": 0, "ok": 0, "skipped": 0,
                                  "invalid": 0, "extra": 0})["assigned"] = r[1]
        for r in self.store.all("SELECT annotator_id, status, COUNT(*) FROM annotations WHERE campaign=? "
                                "GROUP BY annotator_id, status", self.name):
            per.setdefault(r[0], {"kind": "unknown (not in the spec)", "persona": None, "assigned": 0, "ok": 0,
                                  "skipped": 0, "invalid": 0, "extra": 0})[r[1]] = r[2]
        quarantined = [
            {"unit": r[0], "annotator": r[1], "reason": r[2]}
            for r in self.store.all("SELECT unit_id, annotator_id, reason FROM annotations WHERE campaign=? "
                                    "AND status='invalid' ORDER BY unit_id", self.name)
        ]
        n_units = self.store.one("SELECT COUNT(*) FROM units WHERE campaign=?", self.name)[0]
        return {"campaign": self.name, "task_type": self.spec.task_type, "backend": self.spec.backend,
                "units": n_units, "steps": steps, "annotators": per, "quarantined": quarantined}


def plugin_info(campaign: Campaign) -> tuple[str, str | None]:
    return plugin_version(campaign.registry, "task_types", campaign.spec.task_type)
