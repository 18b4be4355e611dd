"""The campaign engine: sequences the steps (:mod:`workbench.steps`) under the campaign's lock.

plan -> assign -> push -> simulate -> pull -> aggregate -> agreement -> export

A :class:`Campaign` holds a spec (checked whole against the plugins when it is made), the store and
the plugins. Before a step runs on a spec read from a file, the engine compares it with the spec
the store has: a change outside the campaign's identity is recorded as a new spec version (and the
pool updated: annotators join or retire), a change of identity once work is handed out is refused.
Each step is a plain function over the read model; the engine only builds its context, takes the
lock, and recomputes a stale result a later step needs (say, agreement after a new consensus).
"""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from . import gating
from .backends import Backend, BackendContext
from .documents import load_documents
from .errors import WorkbenchError
from .lock import CampaignLock
from .models import (
    Annotation,
    AnnotationStatus,
    Document,
    Label,
    LabelSchema,
    PreLabel,
    Unit,
    schema_from_json,
    schema_to_json,
)
from .registry import Registry, get_registry, plugin_version
from .spec import AnnotatorSpec, CampaignSpec, parse_spec
from .spec.changes import (
    diff,
    documents_digest,
    identity,
    identity_changes,
    refuse_identity_change,
    refuse_running_change,
)
from .spec.check import validate
from .state import CampaignState
from .status import status as status_view
from .steps import STEPS, Progress, StepContext, quiet, return_memory
from .steps import aggregate as aggregate_step
from .steps import agreement as agreement_step
from .steps import assign as assign_step
from .steps import export as export_step
from .steps import plan as plan_step
from .steps import pull as pull_step
from .steps import push as push_step
from .steps import redundancy as redundancy_step
from .steps import report as report_step
from .steps import review as review_step
from .steps import simulate as simulate_step
from .store import Store, now
from .store import campaigns as campaigns_sql
from .store import work as work_sql
from .tasktype import TaskType

__all__ = ["STEPS", "Campaign"]


@dataclass
class SpecSync:
    """What applying a spec read from a file will record (computed before any write)."""

    exists: bool
    identity: dict[str, Any]
    documents: list[Document]
    changes: list[str]
    new_version: bool
    fill_identity: bool = False


class Campaign:
    def __init__(self, spec: CampaignSpec, store: Store, registry: Registry | None = None,
                 progress: Progress = quiet, *, from_file: bool = True, wait: bool = False,
                 notify: Callable[[str], None] | None = None):
        """``notify(message)`` hears what a user should know that is not a step's result (waiting for
        the lock, taking over a dead process's lock, a stale result recomputed)."""
        self.registry = registry or get_registry()
        validate(spec, self.registry, files=from_file)
        self.spec = spec
        self.store = store
        self.progress = progress
        self.notify = notify or (lambda message: None)
        self.from_file = from_file
        self.synced = not from_file
        self.lock = CampaignLock(store.home, spec.name, wait=wait, on_wait=lambda who: self.notify(
            f"waiting for {self.lock.busy_message(who).split(' is busy: ', 1)[1].split(' holds its lock')[0]} "
            f"to release campaign {spec.name!r}"))
        self._state: CampaignState | None = None
        self._corpus: dict[str, Any] = {}  # the corpus read once per plan (CampaignState)
        self._tables: dict[str, Any] | None = None  # during run(): the vote table read once per revision
        self._backend: Backend | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def task_type(self) -> TaskType:
        """The campaign's task type, set up with its ``[task]`` options, with the label schema the
        campaign was planned with (a plugin whose labels changed since is noted in ``schema_drift``)."""
        from .spec.check import configured_task_type

        tt = configured_task_type(self.spec, self.registry)
        row = campaigns_sql.get(self.store, self.name) if self.store.path.exists() else None
        # (a file naming another task type is another identity: refused as such, not as other labels)
        pinned = (schema_from_json(row["schema_json"])
                  if row is not None and row["schema_json"] and row["task_type"] == self.spec.task_type else None)
        if pinned is not None and pinned != tt.schema:
            self.schema_drift = (pinned, tt.schema)
            tt = copy.copy(tt)
            tt.schema = pinned
        return tt

    schema_drift: tuple[LabelSchema, LabelSchema] | None = None

    def _same_labels(self, step: str) -> None:
        """A step that needs the plugin's labels refuses when they are not the campaign's any more."""
        tt = self.task_type
        if self.schema_drift is None:
            return
        pinned, now_ = self.schema_drift
        plugin, version = plugin_version(self.registry, "task_types", tt.name)
        raise WorkbenchError(
            f"campaign {self.name!r} was planned with task type {tt.name!r} labels {list(pinned.labels)} "
            f"({pinned.kind.value}); plugin {plugin} {version or ''} now has {list(now_.labels)} ({now_.kind.value}), "
            f"so `{step}` cannot go on: aggregate, agreement, export and report still work on the stored labels; "
            "install the plugin version the campaign was planned with to label more, or start a new campaign "
            "(another name) with the new labels")

    @classmethod
    def open(cls, name: str, store: Store, registry: Registry | None = None, progress: Progress = quiet,
             **kwargs) -> "Campaign":
        """A campaign already in the store, by name, with its current spec."""
        row = campaigns_sql.get(store, name)
        if row is None:
            known = campaigns_sql.names(store)
            raise WorkbenchError(
                f"no campaign {name!r} in {store.path} (known: {', '.join(known) or 'none'}); "
                "pass the campaign's .toml file instead")
        spec = parse_spec(json.loads(row["spec_json"]), Path(row["spec_path"]))
        return cls(spec, store, registry, progress, from_file=False, **kwargs)

    # ------------------------------------------------------------------------------------------
    # the read model and the step context
    @property
    def state(self) -> CampaignState:
        if self._state is None:
            self._state = CampaignState(self.store, self.name, self.task_type.schema, self.spec.task_type,
                                        corpus_cache=self._corpus, table_cache=self._tables)
        return self._state

    def _fresh(self) -> None:
        self._state = None

    def effective_spec(self) -> CampaignSpec:
        """The spec with everyone the pool ever had: annotators gone from the file count as retired;
        those gating excluded are flagged (no new work, labels not counted)."""
        named = {a.id for a in self.spec.annotators}
        gone = tuple(AnnotatorSpec(m.id, m.persona, m.lean, m.email, retired=True)
                     for m in self.state.pool if m.id not in named)
        spec = replace(self.spec, annotators=self.spec.annotators + gone) if gone else self.spec
        if not self.store.path.exists():
            return spec
        return gating.mark_excluded(spec, gating.excluded_annotators(self.store, self.name))

    def context(self) -> StepContext:
        row = campaigns_sql.get(self.store, self.name)
        return StepContext(spec=self.effective_spec(), store=self.store, state=self.state, registry=self.registry,
                           task_type=self.task_type, spec_version=row["spec_version"] if row else 1,
                           progress=self.progress, backend_factory=lambda: self.backend)

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            factory = self.registry.get("backends", self.spec.backend).factory
            self._backend = factory(BackendContext(self.effective_spec(), self.store, self.task_type, self.registry,
                                                   self.progress))
        return self._backend

    # ------------------------------------------------------------------------------------------
    # the spec's versions
    def _decide(self, documents: list[Document] | None = None) -> SpecSync:
        """Compare the spec from the file with the stored one; refuse what cannot change. No writes."""
        spec = self.spec
        docs = documents if documents is not None else load_documents(spec.documents, spec.base)
        ident = identity(spec, docs)
        row = campaigns_sql.get(self.store, self.name)
        if row is None:
            return SpecSync(False, ident, docs, ["first version"], True)
        old = parse_spec(json.loads(row["spec_json"]), Path(row["spec_path"]))
        old_ident = json.loads(row["identity_json"]) if row["identity_json"] else self._stored_identity(old)
        assigned = work_sql.count_assignments(self.store, self.name) > 0
        pushed = work_sql.any_pushed(self.store, self.name)
        changed = identity_changes(old_ident, ident)
        if changed and assigned:
            raise refuse_identity_change(spec, changed, old_ident, ident)
        refuse_running_change(old, spec, assigned, pushed)
        changes = [f"{f}: changed before any work was handed out" for f in changed] + diff(old, spec)
        fill = not row["identity_json"] or any(old_ident.get(k) is None and ident.get(k) is not None for k in ident)
        return SpecSync(True, ident, docs, changes, bool(changes), fill_identity=fill)

    def _stored_identity(self, old: CampaignSpec) -> dict[str, Any]:
        """The identity of a campaign recorded by workbench 0.1 (which kept none): its documents as
        planned; its gold file's contents unknown (taken as they are now)."""
        docs = self.state.documents.values()
        return {"task_type": old.task_type, "task_options": {}, "documents": documents_digest(docs) if docs else None,
                "gold": None, "gold_rate": old.gold_rate, "seed": old.seed}

    def _apply(self, sync: SpecSync) -> int:
        """Record the spec (inside the caller's transaction): a new campaign, or a new version, and the
        pool it names. Returns the current spec version."""
        spec, db = self.spec, self.store
        ident_json = json.dumps(sync.identity, sort_keys=True)
        stamp = now()
        fields = dict(spec_path=str(spec.path), spec_json=json.dumps(spec.raw), fingerprint=spec.fingerprint,
                      identity_json=ident_json, task_type=spec.task_type, backend=spec.backend, stamp=stamp,
                      changes=sync.changes)
        if not sync.exists:
            campaigns_sql.create(db, self.name, **fields)
            version = 1
        elif sync.new_version:
            version = campaigns_sql.record_version(db, self.name, **fields)
        else:
            if sync.fill_identity:
                campaigns_sql.set_identity(db, self.name, ident_json)
            version = campaigns_sql.get(db, self.name)["spec_version"]
        campaigns_sql.pin_schema(db, self.name, schema_to_json(self.task_type.schema))
        if sync.new_version:
            named = set()
            for a in spec.annotators:
                named.add(a.id)
                work_sql.put_annotator(db, self.name, a.id, a.persona, a.lean, a.email,
                                       "retired" if a.retired else "active", version)
            for m in work_sql.annotators(db, self.name):
                if m["id"] not in named and m["status"] != "retired":
                    work_sql.put_annotator(db, self.name, m["id"], m["persona"], m["lean"], m["email"], "retired",
                                           version)
        return version

    def _sync(self) -> None:
        """Apply the spec from the file before a step other than plan (its own transaction)."""
        if self.synced:
            return
        if campaigns_sql.get(self.store, self.name) is None:
            return  # not planned yet: the step says to run plan first
        sync = self._decide()
        if sync.new_version and self.spec.models:
            # the new [models] must work on the campaign's units before the version is recorded
            aggregate_step.model_sources(self.context())
        with self.store.transaction():
            self._apply(sync)
        self.synced = True
        self._fresh()
        if sync.new_version:
            self._backend = None  # built from the old spec

    @contextlib.contextmanager
    def _working(self):
        with self.lock:
            if self.lock.took_over and self.lock.depth == 1:
                who = self.lock.took_over
                self.notify(f"campaign {self.name!r}: took over the lock of process {who.get('pid')} "
                            f"(`{who.get('command')}`), which ended without releasing it")
                self.lock.took_over = None
            yield

    def _step(self, fn, *args, **kwargs) -> dict[str, Any]:
        with self._working():
            if fn in (push_step.run, simulate_step.run, pull_step.run):
                self._same_labels(fn.__module__.rsplit(".", 1)[-1])
            self._sync()
            self._fresh()
            try:
                return fn(self.context(), *args, **kwargs)
            finally:
                self._fresh()

    # ------------------------------------------------------------------------------------------
    # steps
    def plan(self) -> dict[str, Any]:
        """Register the campaign (or its new spec version), cut documents into units, attach gold and
        pre-labels. A failure leaves the store as it was."""
        with self._working():
            self._same_labels("plan")
            self._fresh()
            sync = self._decide() if self.from_file else None
            ctx = self.context()
            digest = None
            if sync is not None:
                digest = plan_step.inputs_digest(ctx, sync.identity, sync.documents)
                if not sync.new_version and not sync.fill_identity:
                    same = plan_step.unchanged(ctx, digest)
                    if same is not None:
                        self.synced = True
                        return same
            planned = plan_step.prepare(ctx, sync.documents if sync else None)
            if sync is not None and sync.new_version and self.spec.models:
                # the [models] must work on the planned units before the version is recorded
                aggregate_step.sources_for(self.spec, self.registry, self.task_type, planned["units"],
                                           planned["prelabels"], self.name)
            with self.store.transaction():
                if sync is not None:
                    ctx.spec_version = self._apply(sync)
                summary = plan_step.write(ctx, planned)
                ctx.record("plan", summary, None if digest is None else {"digest": digest})
            self.synced = True
            self._fresh()
            if sync is not None and sync.new_version:
                self._backend = None  # built from the old spec
            return summary

    def assign(self) -> dict[str, Any]:
        """Give each unit to ``overlap`` annotators (honeypots blind among them); later runs apply spec changes."""
        return self._step(assign_step.run)

    def push(self) -> dict[str, Any]:
        """Send the units not yet in the backend; tell it about more annotators per unit."""
        return self._step(push_step.run)

    def simulate(self) -> dict[str, Any]:
        """The simulated annotators label their queues (a documented simulation, not people). With
        ``[gating]`` rules they work in stages, each followed by a pull that judges them."""
        if self.spec.gating.enabled:
            with self._working():
                return gating.staged_simulation(self, lambda limits: self._step(simulate_step.run, limits))
        return self._step(simulate_step.run)

    def pull(self) -> dict[str, Any]:
        """Collect annotations: validate each, replace edits, drop deletions, flag extras; then gating
        judges whoever answered honeypots (an exclusion is a new round, pushed at once)."""
        with self._working():
            return self._judge(self._step(pull_step.run))

    def _judge(self, summary: dict[str, Any]) -> dict[str, Any]:
        """After new answers are stored: gating judges whoever answered honeypots (an exclusion is a
        new round, pushed at once); its outcome goes in ``summary``."""
        if self.spec.gating.enabled:
            judged = self._step(gating.gate)
            summary["gating"] = judged
            if judged["excluded"] and self.state.step("push") is not None:
                summary["gating"]["push"] = self.push()
        return summary

    def take_simulated(self) -> dict[str, Any]:
        """Between the stages of a gated simulation: store what the crowd just made as the backend
        answered its saves (or pull, where the backend offers no such thing), then gating judges, as
        after a pull (an exclusion is a new round, pushed at once)."""
        with self._working():
            summary = self._step(pull_step.simulated)
            return self.pull() if summary is None else self._judge(summary)

    def exclude(self, annotator: str, reason: str = "manual") -> dict[str, Any]:
        """Exclude ``annotator`` by hand: their labels stop counting, their work goes to others."""
        with self._working():
            out = self._step(gating.exclude, annotator, "manual", reason)
            if out["round"] is not None and self.state.step("push") is not None:
                out["push"] = self.push()
            return out

    def include(self, annotator: str, reason: str = "manual") -> dict[str, Any]:
        """Undo an exclusion: ``annotator``'s labels count again."""
        return self._step(gating.include, annotator, reason)

    def aggregate(self, method: str | None = None, **options) -> dict[str, Any]:
        """One label per unit: the spec's method and options, or ``method`` with its own defaults."""
        if method is not None and method != self.spec.aggregate_method:
            from .spec.check import check_aggregation

            check_aggregation(None, self.registry, method, options, self.task_type.schema, "--method", "--method ")
        return self._step(aggregate_step.run, method, **options)

    def agreement(self) -> dict[str, Any]:
        """Agreement and annotator quality; then the gold's health (suspect honeypots, dropped from
        scoring with ``[gating] drop_suspect_gold``: then aggregate and agreement run once more)."""
        with self._working():
            summary = self._step(agreement_step.run)
            if self.state.honeypot_gold:
                found = self._step(gating.health)
                summary["gold_health"] = found
                if found["changed"]:
                    self.notify(f"campaign {self.name!r}: {len(found['dropped'])} suspect honeypot(s) dropped from "
                                "scoring; aggregating and measuring again")
                    self._step(aggregate_step.run)
                    summary = {**self._step(agreement_step.run), "gold_health": found}
            return summary

    def export(self, formats: tuple[str, ...] | None = None, out_dir: str | None = None, force: bool = False,
               **filters) -> dict[str, Any]:
        with self._working():
            self._sync()
            self._refresh()
            return self._step(export_step.run, formats, out_dir, force, **filters)

    def report(self, out: str | Path | None = None, top: int = 12) -> dict[str, Any]:
        """The campaign's self-contained HTML report."""
        with self._working():
            self._sync()
            self._refresh()
            return self._step(report_step.run, out, top)

    def evaluate(self, predictions: pd.DataFrame | None = None, model: str | None = None,
                 source: str | None = None, **options) -> dict[str, Any]:
        """Score a model's predictions (``unit, label, score``; None: the task type's pre-labels)
        against the consensus and the gold labels, and keep it as the model's last evaluation."""
        from . import evaluate as evaluate_mod

        with self._working():
            self._sync()
            self._refresh()
            self._fresh()
            if predictions is None:
                predictions = evaluate_mod.prelabel_predictions(self.state)
                if predictions.empty:
                    raise WorkbenchError(f"campaign {self.name!r}: no pre-labels (task type {self.spec.task_type!r} "
                                         "gives none, or `plan` has not run)")
                model, source = model or evaluate_mod.PRELABELS, evaluate_mod.PRELABELS
            return self._step(evaluate_mod.run, predictions, model or "model", source or "predictions", **options)


    def review(self, pull_only: bool = False) -> dict[str, Any]:
        """A review round (the spec's ``[review]`` table): the units that need it go to the review queue,
        simulated reviewers answer, verdicts come back; ``pull_only``: only bring the verdicts back."""
        with self._working():
            self._sync()
            self._refresh()
            return self._step(review_step.run, pull_only)

    def run(self, until: str = "export", around: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """Every step up to ``until``; ``around(description)``, if given, is a context manager each step
        runs inside (the CLI's spinner)."""
        if until not in STEPS:
            raise WorkbenchError(f"--until: expected one of {', '.join(STEPS)}, got {until!r}")
        results: dict[str, Any] = {}
        with self._working(), self._sharing_tables():
            if until == "export" and self.from_file and self._in_process():
                with around(f"{self.name}: plan") if around else contextlib.nullcontext():
                    results["plan"] = self.plan()
                return_memory()
                same = self._unchanged_since_last_run()
                if same is not None:
                    return {**results, **same}
            for step in STEPS:
                if step in results:
                    continue
                if step == "export" and self.spec.review is not None and self.state.step("review") is not None:
                    # verdicts given since the last review round (a person in Label Studio) count in this export
                    with around(f"{self.name}: review --pull") if around else contextlib.nullcontext():
                        results["review"] = self.review(pull_only=True)
                with around(f"{self.name}: {step}") if around else contextlib.nullcontext():
                    results[step] = getattr(self, step)()
                return_memory()  # the step's read model and tables are freed: their pages go back
                if step == "aggregate" and self.spec.redundancy is not None:
                    results["redundancy"] = self.adaptive_rounds(around)
                if step == until:
                    break
            if until == "export" and self._in_process():
                self._remember_run(results["export"])
        return results

    @contextlib.contextmanager
    def _sharing_tables(self):
        """Inside, the steps share the vote table while the annotations' revision stays the same
        (aggregate, agreement and export read it once, not once each: seconds on a million votes).
        Only the engine's own steps see it, and only during the run; none changes it in place."""
        if self._tables is not None:  # nested: the outer run's
            yield
            return
        self._tables = {}
        try:
            yield
        finally:
            self._tables = None
            self._fresh()

    # ------------------------------------------------------------------------------------------
    # a re-run with nothing changed
    def _in_process(self) -> bool:
        """Whether only the workbench changes what the campaign's backend holds (the local backend)."""
        factory = self.registry.get("backends", self.spec.backend).factory
        return bool(getattr(factory, "in_process", False))

    @staticmethod
    def _file_marks(summary: dict[str, Any]) -> dict[str, list[int]] | None:
        out = {}
        for path in [*summary.get("files", []), summary.get("card")]:
            if not path:
                continue
            try:
                st = Path(path).stat()
            except OSError:
                return None
            out[str(path)] = [st.st_size, st.st_mtime_ns]
        return out

    def _remember_run(self, export_summary: dict[str, Any]) -> None:
        """Record the store's change marks and the export files as a whole run left them."""
        files = self._file_marks(export_summary)
        if files is None:
            return
        marks = {**campaigns_sql.change_marks(self.store, self.name), "files": files}
        with self.store.transaction():
            campaigns_sql.put_run_marks(self.store, self.name, marks, now())

    def _unchanged_since_last_run(self) -> dict[str, Any] | None:
        """Every step's last summary when nothing changed since the last whole run (an in-process
        backend, the same spec version and plan, no step run since, the exported files as written);
        else None. Re-running every step would recompute the same results: minutes on a million units."""
        marks = campaigns_sql.run_marks(self.store, self.name)
        if marks is None:
            return None
        now_marks = {**campaigns_sql.change_marks(self.store, self.name), "files": marks.get("files")}
        if now_marks != marks:
            return None
        export = self.state.step("export")
        if export is None or self._file_marks(export) != marks.get("files"):
            return None
        self.notify(f"campaign {self.name!r}: nothing changed since the last run (spec, documents, labels, "
                    "exports); its results stand")
        results = {step: self.state.step(step) for step in STEPS if step != "plan"}
        if self.spec.redundancy is not None and self.state.step("redundancy") is not None:
            # what adaptive_rounds returns when its first check makes no round (as it would again)
            check = self.state.step("redundancy")
            stopped = ("every unit settled" if not check.get("waiting") else
                       f"{check.get('open_places')} answer(s) awaited on {check.get('waiting')} unit(s); "
                       "the next `run` goes on")
            results["redundancy"] = {"rounds": [], "stopped": stopped, **{k: check.get(k) for k in (
                "settled", "waiting", "open_places", "spent", "budget_left")}}
        return results

    def redundancy_check(self) -> dict[str, Any]:
        """One check of the ``[redundancy]`` policy: a new round for the units below target (if any)."""
        if self.spec.redundancy is None:
            raise WorkbenchError(f"campaign {self.name!r} has no [redundancy] table (adaptive rounds)")
        return self._step(redundancy_step.run)

    def adaptive_rounds(self, around: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """Round after round (check, push, simulate, pull, aggregate) until no unit is below target
        or can get more, or the round's work is not answered yet (people): then the next ``run``
        resumes. Returns the rounds made and why it stopped."""
        made: list[int] = []
        policy = self.spec.redundancy
        assert policy is not None
        # each round gives a unit below max one more place, so the loop ends by itself; the guard
        # only stops a runaway (a bug) with a clear line
        guard = 10 * (policy.max + 2)
        if policy.per_round is not None:  # units * (max - initial) places at most, per_round per round
            guard += -(-len(self.state.units) * (policy.max - policy.initial) // policy.per_round)
        with self._working():
            while True:
                with around(f"{self.name}: redundancy check") if around else contextlib.nullcontext():
                    check = self.redundancy_check()
                number = check["round"]
                if number is None:
                    stopped = ("every unit settled" if not check["waiting"] else
                               f"{check['open_places']} answer(s) awaited on {check['waiting']} unit(s); "
                               "the next `run` goes on")
                    break
                made.append(number)
                if len(made) > guard:
                    stopped = f"stopped after {len(made)} rounds (guard)"
                    break
                for step in ("push", "simulate", "pull", "aggregate"):
                    with around(f"{self.name}: {step} (round {number})") if around else contextlib.nullcontext():
                        getattr(self, step)()
                self._fresh()
                row = next((r for r in self.state.rounds if r["round"] == number), None)
                if row is not None and row["answered"] == 0 and row["assignments"] > 0:
                    stopped = (f"round {number}: none of its {row['assignments']} place(s) answered yet; "
                               "the next `run` goes on")
                    break
            if number is not None:  # stopped while a round's work is open: record where things stand
                check = self._step(redundancy_step.survey)
        return {"rounds": made, "stopped": stopped, **{k: check.get(k) for k in (
            "settled", "waiting", "open_places", "spent", "budget_left")}}

    def add_round(self, units: Iterable[str], extra: int = 1, kind: str = "more",
                  reason: str | None = None) -> dict[str, Any]:
        """A new round by hand: ``extra`` more annotators for each of ``units``. Then ``push``,
        ``simulate`` and ``pull`` (or ``run``) do the work, and ``aggregate`` counts it."""
        return self._step(assign_step.add_round, list(units), extra, kind, reason)

    def _refresh(self) -> None:
        """Recompute the consensus and agreement when what they were computed from changed."""
        steps = self.state.steps
        agg = steps.get("aggregate")
        if agg is None:
            return
        rev = self.state.annotations_rev
        inputs = agg.get("inputs")
        if (inputs is None and rev) or (inputs is not None and inputs.get("annotations_rev") != rev):
            self.notify(f"campaign {self.name!r}: annotations changed since the last aggregate; aggregating again")
            self.aggregate()
            steps = self.state.steps
            agg = steps["aggregate"]
        elif (inputs or {}).get("models") != aggregate_step.models_digest(self.context()):
            self.notify(f"campaign {self.name!r}: the model sources ([models]: their spec or their votes) changed "
                        "since the last aggregate; aggregating again")
            self.aggregate()
            steps = self.state.steps
            agg = steps["aggregate"]
        agr = steps.get("agreement")
        if agr is None or (agr.get("inputs") or {}).get("aggregate") != agg["seq"]:
            if agr is not None and agr.get("inputs") is not None:
                self.notify(f"campaign {self.name!r}: the consensus changed since the last agreement; measuring again")
            self.agreement()

    def disputed_units(self) -> list[str]:
        """The units the agreement step found disputed (agreement recomputed first if stale)."""
        with self._working():
            self._sync()
            self._refresh()
        self._fresh()
        per_unit = self.state.unit_agreement
        return list(per_unit.loc[per_unit["disputed"], "unit"])

    def quality(self) -> list[dict[str, Any]]:
        """The stored per-annotator quality rows (agreement recomputed first if stale)."""
        with self._working():
            self._sync()
            if self.state.step("aggregate") is None:
                raise WorkbenchError(f"campaign {self.name!r}: run `aggregate` before `annotators`")
            self._refresh()
        self._fresh()
        return self.state.quality

    def forget_backend(self) -> None:
        """Forget where the campaign's tasks are (say, a project deleted on the server): the next push
        sends every unit again. Annotations already pulled stay in the store."""
        with self._working():
            self.backend.forget()
            with self.store.transaction():
                work_sql.forget_tasks(self.store, self.name)
                self.context().backend_state.delete(pull_step.CURSOR)
                campaigns_sql.clear_steps(self.store, self.name, ["push", "simulate"])
            self._fresh()

    # ------------------------------------------------------------------------------------------
    # reading (no lock: a read never changes the store)
    def status(self) -> dict[str, Any]:
        self._fresh()
        return status_view(self.effective_spec(), self.state)

    def units(self) -> list[Unit]:
        return self.state.units

    def documents(self) -> dict[str, Document]:
        return self.state.documents

    def prelabels(self) -> dict[str, PreLabel]:
        return self.state.prelabels

    def annotations(self, statuses: tuple[AnnotationStatus, ...] | None = None) -> list[Annotation]:
        self._fresh()
        return [a for a in self.state.annotations if statuses is None or a.status in statuses]

    def table(self) -> pd.DataFrame:
        """The long ``(unit, annotator, label)`` table of the annotations that count."""
        self._fresh()
        return self.state.table

    def consensus(self) -> dict[str, Label]:
        self._fresh()
        return self.state.consensus

    def honeypot_gold(self) -> dict[str, Label]:
        return self.state.honeypot_gold

    def queues(self) -> dict[str, list[Unit]]:
        self._fresh()
        return self.state.queues

    def records(self) -> list[dict[str, Any]]:
        """Every aggregated unit as an export record (no filter, no split)."""
        self._fresh()
        return export_step.records(self.context())
