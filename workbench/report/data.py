"""Everything the campaign report shows, from tables the caller reads from the store (the report
changes nothing). Agreement and annotator quality are the agreement step's stored tables.

Annotators appear under their campaign ids (the report is for whoever runs the campaign); an id that
is an email is replaced by the same pseudonym the export uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..agreement import plain_number
from ..export.facts import uncounted
from ..export.records import review_reasons
from ..export.split import NONE_KEY, strata
from ..models import LabelKind, Unit, label_to_json
from .pairwise import Pairwise, pairwise

MISSED = "(missed)"


@dataclass
class UnitView:
    unit_id: str
    text: str
    context: str | None
    document: str
    consensus: Any
    confidence: float
    agreement: float | None
    tie: bool
    gold: Any
    reasons: list[str]
    votes: list[tuple[str, Any]]


@dataclass
class ReportData:
    campaign: str
    description: str
    task_type: str
    task_description: str
    instructions: str
    kind: LabelKind
    labels: tuple[str, ...]
    backend: str
    overlap: int
    as_of: str | None
    documents: int
    units: int
    annotations: int
    metrics: dict[str, dict]
    aggregate: dict[str, Any]
    label_counts: pd.DataFrame
    annotators: list[dict[str, Any]]
    pairwise: Pairwise
    confusion: pd.DataFrame | None
    unit_stats: pd.DataFrame
    disputed: list[UnitView]
    progress: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    #: gating: who was excluded or included, when and why; suspect gold; honeypot exposure (plain lines)
    gating: list[str] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # the last evaluation of each model
    #: the review rounds (:func:`workbench.review.summary_facts`) and, per annotator (display name),
    #: ``{reviewed, overturned}``; None: no review yet
    review: dict[str, Any] | None = None

    @property
    def spans(self) -> bool:
        return self.kind is LabelKind.SPANS


def _kind(member) -> str:
    if member is None:
        return "not in the pool"
    kind = f"simulated ({member.persona})" if member.persona else "person"
    return kind + (", retired" if member.status == "retired" else "")


def display_names(pseudonym_of: dict[str, str]) -> dict[str, str]:
    """Campaign ids, except that an email shows as its export pseudonym."""
    return {a: (p if "@" in a else a) for a, p in pseudonym_of.items()}


def label_counts(kind: LabelKind, labels: tuple[str, ...], consensus: dict, table: pd.DataFrame) -> pd.DataFrame:
    """Per label: how often the consensus uses it and how often annotators did (spans: per span)."""
    def count(values) -> Counter:
        return Counter(k for v in values for k in strata(label_to_json(v)))

    cons, votes = count(consensus.values()), count(table["label"])
    order = list(labels) + ([] if kind in (LabelKind.SINGLE, LabelKind.ORDINAL) else [NONE_KEY])
    return pd.DataFrame({"consensus": [cons.get(x, 0) for x in order], "votes": [votes.get(x, 0) for x in order]},
                        index=order)


def confusion(kind: LabelKind, labels: tuple[str, ...], consensus: dict, gold: dict) -> pd.DataFrame | None:
    """Gold (rows) against consensus (columns) on every unit with a gold label.

    Spans are matched on exact offsets: a gold span with no consensus span there is ``(missed)``, a
    consensus span with no gold span there is counted in the ``(none)`` row.
    """
    common = [u for u in gold if u in consensus]
    if not common:
        return None
    if kind is LabelKind.SPANS:
        rows, cols = list(labels) + [NONE_KEY], list(labels) + [MISSED]
        m = pd.DataFrame(0, index=rows, columns=cols)
        for u in common:
            g = {(s.start, s.end): s.label for s in gold[u]}
            c = {(s.start, s.end): s.label for s in consensus[u]}
            for off, label in g.items():
                m.loc[label, c.get(off, MISSED)] += 1
            for off, label in c.items():
                if off not in g:
                    m.loc[NONE_KEY, label] += 1
        return m
    if kind is LabelKind.MULTI:
        key = lambda v: "+".join(v) or NONE_KEY  # noqa: E731
        keys = sorted({key(gold[u]) for u in common} | {key(consensus[u]) for u in common})
        m = pd.DataFrame(0, index=keys, columns=keys)
        for u in common:
            m.loc[key(gold[u]), key(consensus[u])] += 1
        return m
    m = pd.DataFrame(0, index=list(labels), columns=list(labels))
    for u in common:
        m.loc[gold[u], consensus[u]] += 1
    return m


def progress(status: dict[str, Any], planned: dict[str, int], done: dict[str, int],
             names: dict[str, str]) -> dict[str, Any]:
    """Progress for the report: units complete and started, per-annotator counts, steps."""
    complete = sum(1 for u, n in planned.items() if done.get(u, 0) >= n)
    rows = [{"annotator": names.get(a, a), "kind": v["kind"], "persona": v.get("persona"),
             "assigned": v["assigned"], "done": v["ok"], "skipped": v["skipped"], "invalid": v["invalid"],
             "extra": v["extra"]} for a, v in sorted(status["annotators"].items())]
    steps = [{"step": s, "done": v["done"], "finished_at": v["finished_at"]} for s, v in status["steps"].items()]
    return {"units": status["units"], "complete": complete, "started": sum(1 for u in planned if done.get(u)),
            "annotators": rows, "steps": steps, "quarantined": len(status["quarantined"])}


def gather(*, campaign: dict[str, Any], task: dict[str, Any], units: dict[str, Unit], documents: dict,
           names: dict[str, str], table: pd.DataFrame, aggregates: list[dict[str, Any]], quality: list[dict],
           metrics: dict[str, dict], aggregate: dict[str, Any], progress: dict[str, Any], pool: dict,
           as_of: str | None, top: int = 12, statuses: dict[str, dict[str, int]] | None = None,
           evaluations: list[dict[str, Any]] | None = None) -> ReportData:
    """The report's data. ``campaign``: name, description, backend, overlap; ``task``: task_type,
    description, instructions, schema; ``aggregates``: the stored consensus rows; ``quality`` and
    ``metrics``: the agreement step's tables; ``pool``: ``{annotator id: pool member}``;
    ``evaluations``: the stored model evaluations (``workbench evaluate``)."""
    schema = task["schema"]
    consensus = {r["unit_id"]: r["label"] for r in aggregates}
    gold = {u: x.gold_label for u, x in units.items() if x.gold_label is not None}

    position = {u: i for i, u in enumerate(units)}
    stats = []
    for r in aggregates:
        u = units.get(r["unit_id"])
        reasons = review_reasons(r["label"], float(r["confidence"]), int(r["n_annotations"]), bool(r["tie"]),
                                 u.gold_label if u else None)
        stats.append({"unit": r["unit_id"], "confidence": float(r["confidence"]), "agreement": r["agreement"],
                      "n": int(r["n_annotations"]), "tie": bool(r["tie"]), "reasons": reasons,
                      "flagged": bool(reasons), "position": position.get(r["unit_id"], -1)})
    unit_stats = pd.DataFrame(stats, columns=["unit", "confidence", "agreement", "n", "tie", "reasons", "flagged",
                                              "position"])

    annotators = [{
        "annotator": names.get(q["annotator"], q["annotator"]),
        "kind": _kind(pool.get(q["annotator"])),
        "labels": int(q["n_annotations"]), "gold_n": int(q["gold_n"]),
        "gold_accuracy": plain_number(q.get("gold_accuracy")),
        "gold_accuracy_ci": q.get("gold_accuracy_ci"),
        "consensus_agreement": plain_number(q.get("consensus_agreement")),
        "flags": [str(f) for f in q.get("flags") or []],
    } for q in quality]
    # whoever labeled without being counted (not in the pool, beyond the overlap, invalid) is listed too,
    # and so is a pool member who has not labeled yet
    listed = {q["annotator"] for q in quality}
    kept, idle = uncounted(statuses or {}, listed,
                           [aid for aid, m in sorted(pool.items()) if getattr(m, "status", "active") == "active"])
    for aid, what in kept:
        if aid in listed:
            row = next(a for a in annotators if a["annotator"] == names.get(aid, aid))
            row["flags"].append(f"kept, not counted: {what}")
        else:
            annotators.append({"annotator": names.get(aid, aid), "kind": _kind(pool.get(aid)), "labels": 0,
                               "gold_n": 0, "gold_accuracy": None, "consensus_agreement": None,
                               "flags": [f"kept, not counted: {what}"]})
    for aid in idle:
        annotators.append({"annotator": names.get(aid, aid), "kind": _kind(pool[aid]), "labels": 0, "gold_n": 0,
                           "gold_accuracy": None, "consensus_agreement": None, "flags": ["no labels yet"]})

    pw = pairwise(table, schema, metrics)
    pw.values = pw.values.rename(index=names, columns=names)
    pw.shared = pw.shared.rename(index=names, columns=names)

    votes: dict[str, list[tuple[str, Any]]] = {}
    for unit, annotator, label in table[["unit", "annotator", "label"]].itertuples(index=False):
        votes.setdefault(unit, []).append((names.get(annotator, annotator), label_to_json(label)))
    disputed_ids = _most_disputed(unit_stats, top)
    by_unit = unit_stats.set_index("unit")
    disputed = [UnitView(
        unit_id=u, text=units[u].text, context=units[u].context, document=documents[units[u].document_id].title,
        consensus=label_to_json(consensus[u]), confidence=float(s["confidence"]),
        agreement=None if pd.isna(s["agreement"]) else float(s["agreement"]), tie=bool(s["tie"]),
        gold=label_to_json(units[u].gold_label) if units[u].gold_label is not None else None,
        reasons=list(s["reasons"]), votes=sorted(votes.get(u, [])))
        for u, s in ((u, by_unit.loc[u]) for u in disputed_ids)]

    return ReportData(
        campaign=campaign["name"], description=campaign["description"], task_type=task["task_type"],
        task_description=task["description"], instructions=task["instructions"], kind=schema.kind,
        labels=schema.labels, backend=campaign["backend"], overlap=campaign["overlap"], as_of=as_of,
        documents=len(documents), units=len(units), annotations=int(len(table)),
        metrics={m: {"value": plain_number(v.get("value"), 4), "interval": v.get("interval"), "note": v.get("note")}
                 for m, v in metrics.items()},
        aggregate=aggregate or {},
        label_counts=label_counts(schema.kind, schema.labels, consensus, table),
        annotators=annotators, pairwise=pw, confusion=confusion(schema.kind, schema.labels, consensus, gold),
        unit_stats=unit_stats, disputed=disputed, progress=progress, evaluations=list(evaluations or []),
    )


def _most_disputed(stats: pd.DataFrame, top: int) -> list[str]:
    """Lowest agreement first; among equals, more votes (a wider dispute), then lower confidence, ties
    before clear wins; campaign order breaks the rest."""
    if stats.empty or top <= 0:
        return []
    s = stats.assign(a=stats["agreement"].fillna(2.0), t=~stats["tie"], m=-stats["n"])
    s = s[s["n"] >= 2].sort_values(["a", "m", "confidence", "t", "position"], kind="mergesort")
    return list(s["unit"].head(top))
