"""What the data card says, gathered from tables and records (pure, no clock, no store).

Agreement figures for the whole campaign come from the agreement step's stored metrics; figures for
the exported units only are computed here on that subset; per-annotator figures come from the
stored quality table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sized

from ..agreement import plain_number
from ..models import LabelKind
from .records import REVIEW_REASONS
from .settings import SPLITS, ExportSettings
from .split import strata


def rounded(metrics: dict[str, dict], digits: int = 4) -> dict[str, dict]:
    """``{metric: {value, interval, note}}`` with values rounded for the card (``interval``: the
    bootstrap 95% interval ``[low, high]`` where the agreement step measured one)."""
    return {m: {"value": plain_number(v.get("value"), digits), "interval": _interval(v.get("interval"), digits),
                "note": v.get("note")} for m, v in metrics.items()}


def _interval(pair: Any, digits: int = 4) -> list[float] | None:
    if not pair or pair[0] is None or pair[1] is None:
        return None
    return [plain_number(pair[0], digits), plain_number(pair[1], digits)]


NOT_COUNTED = {"not_in_pool": "not in the pool", "extra": "beyond the overlap", "invalid": "quarantined",
               "excluded": "annotator excluded by gating"}


def annotator_kind(member) -> str:
    """How the card and the report describe an annotator (``member``: a pool member, or None)."""
    if member is None:
        return "not in the pool"
    kind = f"simulated: {member.persona}" if member.persona else "person"
    return kind + (" (retired)" if member.status == "retired" else "")


def not_counted(statuses: dict[str, int]) -> str:
    """``"12 (not in the pool)"``: an annotator's labels that are kept but not counted, and why."""
    parts = [(n, NOT_COUNTED[s]) for s, n in statuses.items() if s in NOT_COUNTED and n]
    return "; ".join(f"{n} ({why})" for n, why in parts) if parts else "0"


def uncounted(statuses: dict[str, dict[str, int]], listed: Iterable[str],
              pool: Iterable[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Who a quality table (``listed``: its annotators) must not leave out: ``[(annotator, what is
    kept but not counted)]`` for everyone with such labels, and the members of ``pool`` (in its
    order) with no row and no label at all yet."""
    kept = [(aid, not_counted(counts)) for aid, counts in sorted(statuses.items()) if not_counted(counts) != "0"]
    seen = set(listed) | {aid for aid, _ in kept}
    return kept, [aid for aid in pool if aid not in seen]


def annotator_rows(names: dict[str, str], pool: dict[str, Any], quality: Iterable[dict],
                   records: Iterable[dict], statuses: dict[str, dict[str, int]] | None = None,
                   exported: Counter | None = None) -> list[dict[str, Any]]:
    """Per annotator, under their pseudonym: kind, labels counted, labels kept but not counted (and
    why), labels exported (``exported``: counted already, by pseudonym; else from ``records``), quality."""
    statuses = statuses or {}
    by_id = {row["annotator"]: row for row in quality}
    if exported is None:
        exported = Counter(v["annotator"] for r in records for v in r["votes"])
    rows = []
    for aid, pseudo in names.items():
        q = by_id.get(aid, {})
        rows.append({
            "annotator": pseudo, "kind": annotator_kind(pool.get(aid)), "labels": int(q.get("n_annotations", 0) or 0),
            "not_counted": not_counted(statuses.get(aid, {})),
            "labels_exported": exported.get(pseudo, 0),
            "gold_n": int(q.get("gold_n", 0) or 0), "gold_accuracy": plain_number(q.get("gold_accuracy"), 4),
            "gold_accuracy_ci": _interval(q.get("gold_accuracy_ci")),
            "consensus_agreement": plain_number(q.get("consensus_agreement"), 4),
        })
    return sorted(rows, key=lambda r: r["annotator"])


def split_counts(records: Iterable[dict]) -> dict[str, dict[str, Any]]:
    """Per split (or ``all``): documents, units and counts per label (spans: per span label)."""
    return _split_counts(_SplitTally(), records)


class _SplitTally:
    """:func:`split_counts` gathered record by record (one pass over the records)."""

    def __init__(self):
        self.docs: dict[str | None, set] = {}
        self.units: Counter = Counter()
        self.labels: dict[str | None, Counter] = {}

    def add(self, r: dict) -> None:
        name = r["split"]
        self.docs.setdefault(name, set()).add(r["document_id"])
        self.units[name] += 1
        self.labels.setdefault(name, Counter()).update(strata(r["label"]))

    def add_columns(self, columns: dict[str, list]) -> None:
        """:meth:`add` of every record of a selection's columns."""
        split, docs = columns["split"], columns["document_id"]
        for name, doc in set(zip(split, docs)):
            self.docs.setdefault(name, set()).add(doc)
        self.units.update(split)
        labels = {id(x): x for x in columns["label"]}  # labels are shared values: each label's strata once
        for (name, key), n in Counter(zip(split, map(id, columns["label"]))).items():
            tally = self.labels.setdefault(name, Counter())
            for k in strata(labels[key]):
                tally[k] += n

    def counts(self) -> dict[str, dict[str, Any]]:
        return {name or "all": {"documents": len(self.docs[name]), "units": self.units[name],
                                "labels": dict(sorted(self.labels[name].items()))}
                for name in [*SPLITS, None] if self.units[name]}


def _shared_counts(values: list) -> list[tuple[Any, int]]:
    """``[(value, how many times)]`` of a column of shared values (lists), counted by identity."""
    found = {id(v): v for v in values}
    return [(found[key], n) for key, n in Counter(map(id, values)).items()]


def _split_counts(tally: _SplitTally, records: Iterable[dict]) -> dict[str, dict[str, Any]]:
    for r in records:
        tally.add(r)
    return tally.counts()


def gather(*, campaign: dict[str, Any], task: dict[str, Any], documents: Iterable, settings: ExportSettings,
           all_records: Sized, records: Iterable[dict] | dict[str, list], filter_log: list[dict], split_notes: list[str],
           files: list[dict], annotators: list[dict], metrics_all: dict, metrics_exported: dict,
           plan: dict, aggregate: dict, versions: list[dict], rounds: list[dict]) -> dict[str, Any]:
    """The facts the card is rendered from.

    ``campaign``: name, description, backend, overlap, gold_rate, simulated, people, show_prelabels;
    ``task``: task_type, description, instructions, schema, plugin, plugin_version. ``records``: the
    exported records, or their columns (``{field: [values]}``, :meth:`~workbench.export.records.Records.columns`).
    """
    schema = task["schema"]
    # one pass over the records (they may be made as they are read: a million of them)
    per_doc: Counter = Counter()
    review: Counter = Counter()
    sources: Counter = Counter()
    flagged, exported, first = 0, 0, None
    splits = _SplitTally()
    if isinstance(records, dict):  # a selection's columns: the same counts, column by column
        first = next((x for x in records["exported_at"] if x is not None), None)
        exported = len(records["unit_id"])
        per_doc.update(records["document_id"])
        for reasons, n in _shared_counts(records["review_reasons"]):
            for reason in reasons:
                review[reason] += n
        flagged = sum(records["review"])
        sources.update(records["label_source"])
        splits.add_columns(records)
        records = ()
    for r in records:
        if first is None:
            first = r["exported_at"]
        exported += 1
        per_doc[r["document_id"]] += 1
        review.update(r["review_reasons"])
        flagged += r["review"]
        sources[r.get("label_source", "consensus")] += 1
        splits.add(r)
    return {
        **{k: campaign[k] for k in ("description", "backend", "overlap", "gold_rate", "simulated", "people",
                                    "show_prelabels")},
        "campaign": campaign["name"], "as_of": first if exported else None,
        "task_type": task["task_type"], "task_description": task["description"], "instructions": task["instructions"],
        "kind": schema.kind.value, "spans": schema.kind is LabelKind.SPANS, "labels": list(schema.labels),
        "plugin": task["plugin"], "plugin_version": task["plugin_version"], "task_options": task.get("options") or {},
        "documents": [{"id": d.id, "title": d.title, "source": d.source, "units": per_doc.get(d.id, 0)}
                      for d in sorted(documents, key=lambda d: d.id)],
        "plan": plan or {}, "aggregate": aggregate or {}, "annotators": annotators,
        "metrics_all": metrics_all, "metrics_exported": metrics_exported,
        "settings": settings.as_dict(), "aggregated": len(all_records), "exported": exported,
        "filters": filter_log,
        "review": {reason: review[reason] for reason in REVIEW_REASONS},
        "flagged": flagged,
        "label_sources": dict(sorted(sources.items())),
        "splits": splits.counts(), "split_notes": split_notes, "files": files,
        "versions": versions, "rounds": rounds, "redundancy": campaign.get("redundancy"),
    }
