"""Everything the campaign report shows, read from the stored state (the report changes nothing).

Annotators appear under their campaign ids (the report is for whoever runs the campaign); an id that
is an email is replaced by the same pseudonym the export uses.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..agreement import plain_number
from ..errors import WorkbenchError
from ..export.facts import metric_figures
from ..export.records import annotator_pseudonyms, review_reasons, state_time
from ..export.split import NONE_KEY, strata
from ..models import LabelKind, label_to_json
from .pairwise import Pairwise, pairwise

if TYPE_CHECKING:  # pragma: no cover
    from ..campaign import Campaign

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

    @property
    def spans(self) -> bool:
        return self.kind is LabelKind.SPANS


def _display_names(campaign: "Campaign") -> dict[str, str]:
    pseudo = annotator_pseudonyms(campaign)
    return {a: (pseudo[a] if "@" in a else a) for a in pseudo}


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


def progress(campaign: "Campaign", names: dict[str, str]) -> dict[str, Any]:
    status = campaign.status()
    planned = {r[0]: r[1] for r in campaign.store.all(
        "SELECT unit_id, COUNT(*) FROM assignments WHERE campaign=? GROUP BY unit_id", campaign.name)}
    done = {r[0]: r[1] for r in campaign.store.all(
        "SELECT unit_id, COUNT(*) FROM annotations WHERE campaign=? AND status='ok' GROUP BY unit_id", campaign.name)}
    complete = sum(1 for u, n in planned.items() if done.get(u, 0) >= n)
    rows = [{"annotator": names.get(a, a), "kind": v["kind"], "persona": v.get("persona"),
             "assigned": v["assigned"], "done": v["ok"], "skipped": v["skipped"], "invalid": v["invalid"],
             "extra": v["extra"]} for a, v in sorted(status["annotators"].items())]
    steps = [{"step": s, "done": v["done"], "finished_at": v["finished_at"]} for s, v in status["steps"].items()]
    return {"units": status["units"], "complete": complete, "started": sum(1 for u in planned if done.get(u)),
            "annotators": rows, "steps": steps, "quarantined": len(status["quarantined"])}


def gather(campaign: "Campaign", top: int = 12) -> ReportData:
    from ..agreement.quality import annotator_quality

    name = campaign.name
    if campaign.store.step_summary(name, "aggregate") is None:
        raise WorkbenchError(f"campaign {name!r}: run `aggregate` before `report` (the report shows the consensus)")
    tt = campaign.task_type
    schema = tt.schema
    units = {u.id: u for u in campaign.units()}
    docs = campaign.documents()
    names = _display_names(campaign)
    table = campaign.table()
    rows = campaign.store.all("SELECT * FROM aggregates WHERE campaign=?", name)
    consensus = {r["unit_id"]: schema.normalize(json.loads(r["label_json"])) for r in rows}
    gold = {u: x.gold_label for u, x in units.items() if x.gold_label is not None}
    honeypots = campaign.honeypot_gold(units.values())

    position = {u: i for i, u in enumerate(units)}
    stats = []
    for r in rows:
        u = units.get(r["unit_id"])
        reasons = review_reasons(consensus[r["unit_id"]], float(r["confidence"]), int(r["n_annotations"]),
                                 bool(r["tie"]), u.gold_label if u else None)
        stats.append({"unit": r["unit_id"], "confidence": float(r["confidence"]), "agreement": r["agreement"],
                      "n": int(r["n_annotations"]), "tie": bool(r["tie"]), "reasons": reasons,
                      "flagged": bool(reasons), "position": position.get(r["unit_id"], -1)})
    unit_stats = pd.DataFrame(stats, columns=["unit", "confidence", "agreement", "n", "tie", "reasons", "flagged",
                                              "position"])

    quality = annotator_quality(table, schema, honeypots, consensus)
    spec = {a.id: a for a in campaign.spec.annotators}
    annotators = []
    for q in quality.to_dict("records"):
        a = spec.get(q["annotator"])
        annotators.append({
            "annotator": names.get(q["annotator"], q["annotator"]),
            "kind": "unknown" if a is None else (f"simulated ({a.persona})" if a.simulated else "person"),
            "labels": int(q["n_annotations"]), "gold_n": int(q["gold_n"]),
            "gold_accuracy": plain_number(q.get("gold_accuracy")),
            "consensus_agreement": plain_number(q.get("consensus_agreement")),
            "flags": [str(f) for f in q.get("flags") or []] if isinstance(q.get("flags"), (list, tuple)) else [],
        })

    pw = pairwise(campaign.registry, table, schema, units=units, consensus=consensus, gold=honeypots)
    pw.values = pw.values.rename(index=names, columns=names)
    pw.shared = pw.shared.rename(index=names, columns=names)

    votes: dict[str, list[tuple[str, Any]]] = {}
    for unit, annotator, label in table[["unit", "annotator", "label"]].itertuples(index=False):
        votes.setdefault(unit, []).append((names.get(annotator, annotator), label_to_json(label)))
    disputed_ids = _most_disputed(unit_stats, top)
    by_unit = unit_stats.set_index("unit")
    disputed = [UnitView(
        unit_id=u, text=units[u].text, context=units[u].context, document=docs[units[u].document_id].title,
        consensus=label_to_json(consensus[u]), confidence=float(s["confidence"]),
        agreement=None if pd.isna(s["agreement"]) else float(s["agreement"]), tie=bool(s["tie"]),
        gold=label_to_json(units[u].gold_label) if units[u].gold_label is not None else None,
        reasons=list(s["reasons"]), votes=sorted(votes.get(u, [])))
        for u, s in ((u, by_unit.loc[u]) for u in disputed_ids)]

    return ReportData(
        campaign=name, description=campaign.spec.description, task_type=campaign.spec.task_type,
        task_description=tt.description, instructions=tt.instructions, kind=schema.kind, labels=schema.labels,
        backend=campaign.spec.backend, overlap=campaign.spec.overlap, as_of=state_time(campaign),
        documents=len(docs), units=len(units), annotations=int(len(table)),
        metrics=metric_figures(campaign, table, units, consensus, honeypots),
        aggregate=campaign.store.step_summary(name, "aggregate") or {},
        label_counts=label_counts(schema.kind, schema.labels, consensus, table),
        annotators=annotators, pairwise=pw, confusion=confusion(schema.kind, schema.labels, consensus, gold),
        unit_stats=unit_stats, disputed=disputed, progress=progress(campaign, names),
    )


def _most_disputed(stats: pd.DataFrame, top: int) -> list[str]:
    """Lowest agreement first; among equals, more votes (a wider dispute), then lower confidence, ties
    before clear wins; campaign order breaks the rest."""
    if stats.empty or top <= 0:
        return []
    s = stats.assign(a=stats["agreement"].fillna(2.0), t=~stats["tie"], m=-stats["n"])
    s = s[s["n"] >= 2].sort_values(["a", "m", "confidence", "t", "position"], kind="mergesort")
    return list(s["unit"].head(top))
