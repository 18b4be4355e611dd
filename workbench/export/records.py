"""Curated records: one per aggregated unit, with its document, consensus, votes and review flags.

Votes carry pseudonymous annotator ids, a keyed hash (HMAC-SHA256) of the annotator id with a
random key kept in the store: stable from one export to the next, but an email or name cannot be
recovered by hashing guesses, because the key never leaves the store. Every timestamp comes from the
stored state, never the clock, so the same state always gives the same records. Records are built
from tables (units, documents, consensus rows, votes), not from a campaign.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..models import Document, Label, Unit, label_to_json

#: every record has exactly these fields, in this order (the Arrow schema follows it too)
FIELDS = (
    "unit_id", "split", "text", "context", "document_id", "document_title", "document_source",
    "start", "end", "label", "label_source", "reviewed_by", "confidence", "agreement", "n_annotations", "votes", "model_votes", "tie", "review",
    "review_reasons", "is_gold", "gold_label", "method", "task_type", "campaign", "plugin",
    "plugin_version", "exported_at",
)

#: a consensus with at most this confidence has no real majority behind it
WEAK_CONFIDENCE = 0.5

#: why a unit is flagged for review (the ``review_reasons`` values), as the data card explains them
REVIEW_REASONS = {
    "tie": "the top labels got the same number of votes; the tie rule picked one",
    "no_majority": f"the consensus confidence is at most {WEAK_CONFIDENCE} (no clear majority behind it)",
    "single_annotation": "fewer than two counted annotations: nothing to check the label against",
    "gold_mismatch": "the unit has a gold label and the consensus differs from it",
}

def pseudonym(key: bytes, campaign: str, annotator: str) -> str:
    """``ann-`` and 10 hex digits; per campaign, so one person is not linkable across campaigns."""
    digest = hmac.new(key, f"{campaign}\0{annotator}".encode(), hashlib.sha256).hexdigest()
    return "ann-" + digest[:10]


def review_reasons(label: Label, confidence: float, n_annotations: int, tie: bool,
                   gold: Label | None) -> list[str]:
    """Why a unit should be looked at again before anyone trains on it (see :data:`REVIEW_REASONS`)."""
    reasons = []
    if tie:
        reasons.append("tie")
    if confidence <= WEAK_CONFIDENCE + 1e-9:
        reasons.append("no_majority")
    if n_annotations < 2:
        reasons.append("single_annotation")
    if gold is not None and label != gold:
        reasons.append("gold_mismatch")
    return reasons


def build_records(units: list[Unit], documents: dict[str, Document], aggregates: list[dict[str, Any]],
                  votes: dict[str, list[dict[str, Any]]], *, campaign: str, task_type: str, plugin: str,
                  plugin_version: str | None, as_of: str | None,
                  model_votes: dict[str, list[dict[str, Any]]] | None = None,
                  verdicts: dict[str, tuple[Label, list[str]]] | None = None) -> list[dict[str, Any]]:
    """One record per aggregated unit, in unit order, with ``split`` still unset (None).

    ``aggregates`` are the stored consensus rows (normalized ``label``), ``votes`` each unit's counted
    votes ``{annotator: pseudonym, label: JSON label}``, ``as_of`` the time of the exported state,
    ``model_votes`` each unit's model votes ``{model, label, score}`` (kept apart from people's).
    ``verdicts`` the review's ``{unit: (label, reviewer pseudonyms)}``: a verdict overrides the consensus,
    and so does a honeypot's gold label (unless a reviewer judged the unit: a verdict on a honeypot the
    consensus contradicted is the later, closer look). Held-out gold never replaces the consensus: it
    measures it.
    """
    model_votes = model_votes or {}
    agg = {r["unit_id"]: r for r in aggregates}
    verdicts = verdicts or {}
    records = []
    for u in units:
        row = agg.get(u.id)
        if row is None:
            continue
        doc = documents[u.document_id]
        verdict = verdicts.get(u.id)
        # a reviewer's verdict first, then a honeypot's hand-written gold label, then the consensus
        source = "review" if verdict is not None else "gold" if u.is_gold and u.gold_label is not None else "consensus"
        label = verdict[0] if verdict is not None else u.gold_label if source == "gold" else row["label"]
        confidence = round(float(row["confidence"]), 6)
        reasons = review_reasons(label, confidence, int(row["n_annotations"]), bool(row["tie"]), u.gold_label)
        records.append({
            "unit_id": u.id, "split": None, "text": u.text, "context": u.context,
            "document_id": doc.id, "document_title": doc.title, "document_source": doc.source,
            "start": u.start, "end": u.end,
            "label": label_to_json(label),
            "label_source": source,
            "reviewed_by": [] if verdict is None else list(verdict[1]),
            "confidence": confidence,
            "agreement": None if row["agreement"] is None else round(float(row["agreement"]), 6),
            "n_annotations": int(row["n_annotations"]),
            "votes": sorted(votes.get(u.id, []), key=lambda v: v["annotator"]),
            "model_votes": sorted(model_votes.get(u.id, []), key=lambda v: v["model"]),
            "tie": bool(row["tie"]),
            "review": bool(reasons) and verdict is None,
            "review_reasons": reasons,
            "is_gold": u.is_gold,
            "gold_label": label_to_json(u.gold_label) if u.gold_label is not None else None,
            "method": row["method"], "task_type": task_type, "campaign": campaign,
            "plugin": plugin, "plugin_version": plugin_version, "exported_at": as_of,
        })
    return records


def pseudonyms(key: bytes, campaign: str, annotator_ids) -> dict[str, str]:
    """``{annotator id: pseudonym}`` for the given ids."""
    return {i: pseudonym(key, campaign, i) for i in sorted(set(annotator_ids))}


def counted_votes(annotations, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each unit's counted votes (status ok), annotators under their pseudonyms."""
    votes: dict[str, list[dict[str, Any]]] = {}
    for a in annotations:
        if a.status.value != "ok" or a.label is None:
            continue
        votes.setdefault(a.unit_id, []).append({"annotator": names[a.annotator_id], "label": label_to_json(a.label)})
    return votes


def model_vote_records(votes: dict[str, list[tuple[str, Label, float]]]) -> dict[str, list[dict[str, Any]]]:
    """Each unit's model votes as record entries ``{model, label, score}`` (score None when absent)."""
    return {u: [{"model": src, "label": label_to_json(lab), "score": None if sc != sc else round(float(sc), 6)}
                for src, lab, sc in vs] for u, vs in votes.items()}
