"""The plan step: documents -> units, with gold labels, honeypot flags and pre-labels attached.

Gold lines (JSONL) name a unit by ``unit_id``, or by ``document`` and the unit's exact ``text``, and
give its ``label`` in the task's normalized form. Gold units are the yardstick for aggregation
accuracy; a share of them (the spec's ``gold.rate``) are honeypots, mixed blind into the annotators'
queues (with the same overlap as any unit) and used to score them. Once work is handed out the honeypots stay the ones first picked, whatever
later changes to the pool or the overlap would have picked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import segment
from ..documents import load_documents
from ..errors import WorkbenchError
from ..models import Document, Label, LabelError, PreLabel, Unit, label_key
from ..store import corpus as corpus_sql
from ..tasktype import TaskType
from . import collector_paused_in

if TYPE_CHECKING:  # pragma: no cover
    from . import StepContext


def cut_units(task_type: TaskType, documents: list[Document], guard=None, advance=None, each=None) -> list[Unit]:
    """The task type's units of every document; ``guard(what)`` (a context manager) runs the
    plugin's code, so its failure names the plugin and the document; ``advance(n)`` hears the
    characters cut so far (progress); ``each(units)`` gets each document's units once checked."""
    units: list[Unit] = []
    for doc in documents:
        with guard(f"units() on document {doc.id}") if guard else contextlib.nullcontext():
            cut = list(task_type.units(doc))
        for u in cut:
            if doc.text[u.start:u.end] != u.text:
                raise WorkbenchError(
                    f"task type {task_type.name!r} made unit {u.id} whose text is not {doc.id}[{u.start}:{u.end}]")
            units.append(u)
        if each is not None:
            each(cut)
        if advance is not None:
            advance(len(doc.text))
    ids = [u.id for u in units]
    if len(set(ids)) != len(ids):
        raise WorkbenchError(f"task type {task_type.name!r} made two units with the same id (same span twice?)")
    return units


def load_gold(path: Path, task_type: TaskType, units: list[Unit]) -> dict[str, Label]:
    """``{unit_id: normalized label}`` from a gold JSONL file; every line is checked."""
    if not path.is_file():
        raise WorkbenchError(f"{path}: gold file not found")
    by_id = {u.id: u for u in units}
    by_text = {(u.document_id, u.text): u for u in units}
    gold: dict[str, Label] = {}
    try:
        lines = path.read_text("utf-8").splitlines()
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkbenchError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "label" not in row:
            raise WorkbenchError(f"{where}: expected an object with 'label' and 'unit_id' (or 'document' and 'text')")
        unit = None
        if "unit_id" in row:
            unit = by_id.get(row["unit_id"])
            if unit is None:
                raise WorkbenchError(f"{where}: unit_id {row['unit_id']!r} is not a unit of this campaign")
            if "text" in row and row["text"] != unit.text:
                raise WorkbenchError(f"{where}: text does not match unit {unit.id} (the document changed?)")
        elif "document" in row and "text" in row:
            unit = by_text.get((row["document"], row["text"]))
            if unit is None:
                raise WorkbenchError(f"{where}: no unit in document {row['document']!r} has that text")
        else:
            raise WorkbenchError(f"{where}: expected 'unit_id', or 'document' and 'text'")
        try:
            label = task_type.schema.normalize(row["label"], text_length=len(unit.text))
        except LabelError as exc:
            raise WorkbenchError(f"{where}: label: {exc}") from None
        if unit.id in gold and gold[unit.id] != label:
            raise WorkbenchError(f"{where}: unit {unit.id} already has a different gold label")
        gold[unit.id] = label
    return gold


def honeypot_count(n_units: int, n_gold: int, rate: float) -> int:
    """How many honeypots make ``rate`` of each annotator's queue gold.

    Honeypots get ``overlap`` annotators like every other unit (so they cannot be told apart), and
    assign spreads them evenly: each annotator's share of gold is the campaign's, G = r N.
    """
    if rate <= 0 or n_gold == 0:
        return 0
    g = round(rate * n_units)
    return max(1, min(g, n_gold, n_units - 1 if n_units > 1 else n_units))


def mark_gold(units: list[Unit], gold: dict[str, Label], rate: float, seed: int,
              honeypots: set[str] | None = None) -> list[Unit]:
    """Attach gold labels; flag a seeded sample of gold units as honeypots (``is_gold``), or the given
    ``honeypots`` (a campaign whose work is handed out keeps the ones it has)."""
    if honeypots is None:
        gold_ids = sorted(gold)
        g = honeypot_count(len(units), len(gold_ids), rate)
        honeypots = set(random.Random(seed).sample(gold_ids, g)) if g else set()
    out = []
    for u in units:
        label, pot = gold.get(u.id), u.id in honeypots
        # a unit that already says so is kept (units are frozen): no copy of every unit of a corpus without gold
        out.append(u if label is None and u.gold_label is None and u.is_gold is pot
                   else replace(u, gold_label=label, is_gold=pot))
    return out


def checked_prelabel(task_type: TaskType, unit: Unit, pre: PreLabel | None) -> PreLabel | None:
    """A plugin's pre-label, normalized and checked against the schema now (it used to be stored as
    given and crash ``push`` later)."""
    if pre is None:
        return None
    if not isinstance(pre, PreLabel):
        raise ValueError(f"returned {type(pre).__name__}, not a PreLabel or None")
    try:
        label = task_type.schema.normalize(pre.label, text_length=len(unit.text))
    except LabelError as exc:
        raise ValueError(f"gave a label that does not fit the schema ({exc})") from None
    score = pre.score
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise ValueError(f"gave score {score!r}; expected a number from 0 to 1")
    return PreLabel(label, float(score))


def _dump(label: Label | None) -> str | None:
    return None if label is None else label_key(label)


@collector_paused_in
def prepare(ctx: "StepContext", documents: list[Document] | None = None) -> dict[str, Any]:
    """Everything the plan writes, computed without writing: documents, units, gold, pre-labels."""
    spec, state = ctx.spec, ctx.state
    docs = documents if documents is not None else load_documents(spec.documents, spec.base)
    tt = ctx.task_type

    def guard(what: str):
        return ctx.registry.guard("task_types", tt.name, what)

    chars = sum(len(d.text) for d in docs)
    assigned = state.step("assign") is not None
    pre: dict[str, PreLabel | None] = {}
    # Without gold and with no work handed out, no unit is gold (mark_gold below only clears what a
    # plugin set): each document's units are pre-labeled as soon as they are cut, while the
    # segmentation workers go on with the next documents. The same calls on the same units in the
    # same order as the loop below; the first failure is raised where that loop would raise it.
    failed: list[BaseException] = []
    # Their rows for the store are made then too (:func:`write` only writes them): the rows
    # :func:`write` would make of these units (not gold, no gold label), in the same order.
    rows: list[tuple] = []
    texts = {d.id: d.text for d in docs}

    def prelabel_now(cut: list[Unit]) -> None:
        if failed:
            return
        prelabel = tt.prelabel
        made = []
        i = len(rows)
        for u in cut:
            if u.gold_label is not None or u.is_gold is not False:
                u = replace(u, gold_label=None, is_gold=False)
            try:
                p = pre[u.id] = checked_prelabel(tt, u, prelabel(u))
            except Exception as exc:  # noqa: BLE001 - told as the guard tells it, after the cutting
                try:
                    with guard(f"prelabel() on unit {u.id}"):
                        raise exc
                except Exception as told:  # noqa: BLE001
                    failed.append(told)
                return
            made.append((u.id, i, u.document_id, u.start, u.end, u.text, u.context, 0, None,
                         _dump(p.label) if p else None, p.score if p else None))
            i += 1
        rows.extend(corpus_sql.unit_rows(ctx.name, texts, made))

    eager = not spec.gold_file and not assigned
    ahead = contextlib.nullcontext()
    if type(tt).units is TaskType.units:  # the built-in sentence units: segment on every core
        ahead = segment.prefetched([d.text for d in docs], ctx.progress(f"{ctx.name}: segmenting (characters)", chars))
    with ahead:
        units = cut_units(tt, docs, guard, ctx.progress(f"{ctx.name}: cutting units (characters)", chars),
                          prelabel_now if eager else None)
    if failed:
        raise failed[0]
    gold = load_gold(spec.resolve(spec.gold_file), ctx.task_type, units) if spec.gold_file else {}
    kept = None
    if assigned:
        old = corpus_sql.unit_ids(ctx.store, ctx.name)
        if old != {u.id for u in units}:
            raise WorkbenchError(
                f"{spec.path}: task type {spec.task_type!r} now cuts the documents into other units than campaign "
                f"{ctx.name!r} handed out ({len(old)} before, {len(units)} now; the plugin changed?); start a new "
                "campaign (another name) to label the new units")
        kept = corpus_sql.honeypot_ids(ctx.store, ctx.name)
        missing = sorted(kept - set(gold))
        if missing:
            raise WorkbenchError(f"{spec.resolve(spec.gold_file) if spec.gold_file else spec.path}: honeypot unit "
                                 f"{missing[0]} of campaign {ctx.name!r} has no gold label any more")
    units = mark_gold(units, gold, spec.gold_rate, spec.seed, kept)
    if not eager:
        advance = ctx.progress(f"{ctx.name}: pre-labeling", len(units))
        for u in units:
            with guard(f"prelabel() on unit {u.id}"):
                pre[u.id] = checked_prelabel(tt, u, tt.prelabel(u))
            advance(1)
    return {"documents": docs, "units": units, "gold": gold, "prelabels": pre, "rows": rows if eager else None}


def inputs_digest(ctx: "StepContext", identity: dict[str, Any], documents: list[Document]) -> str:
    """One hash over everything a plan is made of: the campaign's identity (task type and options,
    documents, gold file, gold rate, seed), the task type's plugin and version (its units and
    pre-labels), and each document's title, source and metadata."""
    from ..registry import plugin_version

    plugin = plugin_version(ctx.registry, "task_types", ctx.task_type.name)
    docs = sorted((d.id, d.sha256, d.title, d.source, json.dumps(dict(d.metadata), sort_keys=True, default=str))
                  for d in documents)
    blob = json.dumps({"identity": identity, "plugin": list(plugin), "documents": docs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def unchanged(ctx: "StepContext", digest: str) -> dict[str, Any] | None:
    """The last plan's summary when it was made of the same inputs (``digest``): a re-run has
    nothing to cut again (segmenting a large corpus takes minutes) and nothing to write."""
    row = ctx.state.steps.get("plan")
    if row is None or (row.get("inputs") or {}).get("digest") != digest:
        return None
    return row["summary"]


@collector_paused_in
def write(ctx: "StepContext", planned: dict[str, Any]) -> dict[str, Any]:
    """Store the plan (inside the caller's transaction) and return the step summary."""
    docs, units, gold, pre = planned["documents"], planned["units"], planned["gold"], planned["prelabels"]
    documents = [(d.id, d.title, d.source, d.sha256, d.text, json.dumps(dict(d.metadata))) for d in docs]
    if planned.get("rows") is not None:  # made as the units were cut (:func:`prepare`)
        corpus_sql.replace_rows(ctx.store, ctx.name, documents, planned["rows"])
    else:
        corpus_sql.replace(
            ctx.store, ctx.name, documents,
            [(u.id, i, u.document_id, u.start, u.end, u.text, u.context, int(u.is_gold), _dump(u.gold_label),
              _dump(pre[u.id].label) if pre[u.id] else None, pre[u.id].score if pre[u.id] else None)
             for i, u in enumerate(units)])
    return {"documents": len(docs), "units": len(units), "gold_units": len(gold),
            "honeypots": sum(u.is_gold for u in units), "prelabeled": sum(p is not None for p in pre.values())}
